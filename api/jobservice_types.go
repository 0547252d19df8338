package api

import "time"

// WorkerPool is one pool of job workers: Harbor's WorkerPool. In berth a
// pool is one server node's job runner.
type WorkerPool struct {
	WorkerPoolID string    `json:"worker_pool_id" doc:"the runner's id; 'all' in /workers names every pool"`
	Pid          int64     `json:"pid"`
	StartAt      time.Time `json:"start_at"`
	HeartbeatAt  time.Time `json:"heartbeat_at" doc:"when the pool was last seen working (now for this node)"`
	Concurrency  int64     `json:"concurrency" doc:"jobs it runs at once"`
	Host         string    `json:"host"`
}

// Worker is one job being worked: Harbor's Worker. berth's workers have
// no identity of their own: a worker is a running job.
type Worker struct {
	ID        string     `json:"id" doc:"the running job's id"`
	PoolID    string     `json:"pool_id"`
	JobName   string     `json:"job_name" doc:"the job's kind"`
	JobID     string     `json:"job_id"`
	StartAt   *time.Time `json:"start_at,omitempty"`
	CheckIn   string     `json:"check_in,omitempty"`
	CheckinAt *time.Time `json:"checkin_at,omitempty"`
}

// JobQueue is the pending jobs of one type: Harbor's JobQueue.
type JobQueue struct {
	JobType string `json:"job_type" doc:"the jobs' kind"`
	Count   int64  `json:"count" doc:"jobs waiting to run (available, scheduled or waiting to be retried)"`
	Latency int64  `json:"latency" doc:"seconds the oldest job ready to run has waited"`
	Paused  bool   `json:"paused" doc:"always false: berth does not pause job types"`
}

// ActionRequest is the body of PUT /jobservice/queues/{job_type}:
// Harbor's ActionRequest.
type ActionRequest struct {
	Action string `json:"action" doc:"stop (cancel the pending jobs); pause and resume are not supported (422)"`
}
