package harbor_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/gc"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/jobservice"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/purge"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

func cronSchedule(cron string) *models.ScheduleObj {
	return &models.ScheduleObj{Type: "Custom", Cron: cron}
}

// finished tells whether a job status is final.
func finished(status string) bool {
	switch status {
	case "Success", "Error", "Stopped", "SUCCESS", "ERROR", "STOPPED", "Succeed", "Failed":
		return true
	}
	return false
}

// jobCalls: the gc, purge and jobservice tags.
func jobCalls() map[string]sdkCall {
	withGC := func(call func(ctx context.Context, f *fixture, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := once(ctx, f, "gc run", f.runGC)
			if err != nil {
				return err
			}
			return call(ctx, f, id)
		}
	}
	withPurge := func(call func(ctx context.Context, f *fixture, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := once(ctx, f, "purge run", f.runPurge)
			if err != nil {
				return err
			}
			return call(ctx, f, id)
		}
	}
	return map[string]sdkCall{
		"createGCSchedule": func(ctx context.Context, f *fixture) error {
			_, err := f.c.GC.CreateGCSchedule(ctx, gc.NewCreateGCScheduleParams().WithSchedule(&models.Schedule{
				Schedule: cronSchedule("0 0 3 * * *"), Parameters: map[string]any{"delete_untagged": true}}))
			return err
		},
		"updateGCSchedule": func(ctx context.Context, f *fixture) error {
			_, err := f.c.GC.UpdateGCSchedule(ctx, gc.NewUpdateGCScheduleParams().WithSchedule(&models.Schedule{
				Schedule: cronSchedule("0 0 4 * * *"), Parameters: map[string]any{"delete_untagged": false}}))
			return err
		},
		"getGCSchedule": func(ctx context.Context, f *fixture) error {
			_, err := f.c.GC.GetGCSchedule(ctx, gc.NewGetGCScheduleParams())
			return err
		},
		"getGCHistory": withGC(func(ctx context.Context, f *fixture, _ int64) error {
			_, err := f.c.GC.GetGCHistory(ctx, gc.NewGetGCHistoryParams())
			return err
		}),
		"getGC": withGC(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.GC.GetGC(ctx, gc.NewGetGCParams().WithGCID(id))
			return err
		}),
		"getGCLog": withGC(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.GC.GetGCLog(ctx, gc.NewGetGCLogParams().WithGCID(id))
			return err
		}),
		"stopGC": withGC(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.GC.StopGC(ctx, gc.NewStopGCParams().WithGCID(id))
			return err
		}),

		"createPurgeSchedule": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Purge.CreatePurgeSchedule(ctx, purge.NewCreatePurgeScheduleParams().WithSchedule(&models.Schedule{
				Schedule: cronSchedule("0 0 5 * * *"), Parameters: purgeParams()}))
			return err
		},
		"updatePurgeSchedule": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Purge.UpdatePurgeSchedule(ctx, purge.NewUpdatePurgeScheduleParams().WithSchedule(&models.Schedule{
				Schedule: cronSchedule("0 0 6 * * *"), Parameters: purgeParams()}))
			return err
		},
		"getPurgeSchedule": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Purge.GetPurgeSchedule(ctx, purge.NewGetPurgeScheduleParams())
			return err
		},
		"getPurgeHistory": withPurge(func(ctx context.Context, f *fixture, _ int64) error {
			_, err := f.c.Purge.GetPurgeHistory(ctx, purge.NewGetPurgeHistoryParams())
			return err
		}),
		"getPurgeJob": withPurge(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Purge.GetPurgeJob(ctx, purge.NewGetPurgeJobParams().WithPurgeID(id))
			return err
		}),
		"getPurgeJobLog": withPurge(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Purge.GetPurgeJobLog(ctx, purge.NewGetPurgeJobLogParams().WithPurgeID(id))
			return err
		}),
		"stopPurge": withPurge(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Purge.StopPurge(ctx, purge.NewStopPurgeParams().WithPurgeID(id))
			return err
		}),

		"getWorkerPools": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Jobservice.GetWorkerPools(ctx, jobservice.NewGetWorkerPoolsParams())
			return err
		},
		"getWorkers": func(ctx context.Context, f *fixture) error {
			pool, err := f.workerPool(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Jobservice.GetWorkers(ctx, jobservice.NewGetWorkersParams().WithPoolID(pool))
			return err
		},
		"listJobQueues": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Jobservice.ListJobQueues(ctx, jobservice.NewListJobQueuesParams())
			return err
		},
		"actionPendingJobs": func(ctx context.Context, f *fixture) error {
			// Stop the pending jobs of a type that has none, so that no
			// job of the other calls is cancelled: "all" (every type, as
			// Harbor's swagger says) when no queue is listed.
			queues, err := f.c.Jobservice.ListJobQueues(ctx, jobservice.NewListJobQueuesParams())
			if err != nil {
				return setup("listJobQueues", err)
			}
			jobType := "all"
			if len(queues.Payload) > 0 {
				i := slices.IndexFunc(queues.Payload, func(q *models.JobQueue) bool { return q.Count == 0 })
				if i < 0 {
					return setup("listJobQueues", fmt.Errorf("every job queue has pending jobs"))
				}
				jobType = queues.Payload[i].JobType
			}
			_, err = f.c.Jobservice.ActionPendingJobs(ctx, jobservice.NewActionPendingJobsParams().
				WithJobType(jobType).WithActionRequest(&models.ActionRequest{Action: "stop"}))
			return err
		},
		"actionGetJobLog": withGC(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Jobservice.ActionGetJobLog(ctx, jobservice.NewActionGetJobLogParams().WithJobID(f.jobID(ctx, id)))
			return err
		}),
		"stopRunningJob": withGC(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Jobservice.StopRunningJob(ctx, jobservice.NewStopRunningJobParams().WithJobID(f.jobID(ctx, id)))
			return err
		}),
	}
}

func purgeParams() map[string]any {
	return map[string]any{"audit_retention_hour": 168, "include_event_types": "create_artifact,delete_artifact", "dry_run": true}
}

// runGC runs a manual dry-run GC to its end and returns its id.
func (f *fixture) runGC(ctx context.Context) (int64, error) {
	if _, err := f.c.GC.CreateGCSchedule(ctx, gc.NewCreateGCScheduleParams().WithSchedule(&models.Schedule{
		Schedule: &models.ScheduleObj{Type: "Manual"}, Parameters: map[string]any{"dry_run": true}})); err != nil {
		return 0, fmt.Errorf("createGCSchedule (Manual): %w", err)
	}
	var id int64
	err := poll(ctx, "a finished GC", func() (bool, error) {
		h, err := f.c.GC.GetGCHistory(ctx, gc.NewGetGCHistoryParams().WithSort(ptr("-creation_time")))
		if err != nil || len(h.Payload) == 0 {
			return false, err
		}
		id = h.Payload[0].ID
		return finished(h.Payload[0].JobStatus), nil
	})
	return id, err
}

// runPurge runs a manual dry-run audit log purge to its end and returns
// its id.
func (f *fixture) runPurge(ctx context.Context) (int64, error) {
	if _, err := f.c.Purge.CreatePurgeSchedule(ctx, purge.NewCreatePurgeScheduleParams().WithSchedule(&models.Schedule{
		Schedule: &models.ScheduleObj{Type: "Manual"}, Parameters: purgeParams()})); err != nil {
		return 0, fmt.Errorf("createPurgeSchedule (Manual): %w", err)
	}
	var id int64
	err := poll(ctx, "a finished purge", func() (bool, error) {
		h, err := f.c.Purge.GetPurgeHistory(ctx, purge.NewGetPurgeHistoryParams().WithSort(ptr("-creation_time")))
		if err != nil || len(h.Payload) == 0 {
			return false, err
		}
		id = h.Payload[0].ID
		return finished(h.Payload[0].JobStatus), nil
	})
	return id, err
}

// workerPool is the id of the first worker pool.
func (f *fixture) workerPool(ctx context.Context) (string, error) {
	pools, err := f.c.Jobservice.GetWorkerPools(ctx, jobservice.NewGetWorkerPoolsParams())
	if err != nil {
		return "", setup("getWorkerPools", err)
	}
	if len(pools.Payload) == 0 {
		return "", setup("getWorkerPools", fmt.Errorf("no worker pool"))
	}
	return pools.Payload[0].WorkerPoolID, nil
}

// jobID names a job for the jobservice calls: a running worker's job if
// there is one, else the GC run's id.
func (f *fixture) jobID(ctx context.Context, gcID int64) string {
	if pool, err := f.workerPool(ctx); err == nil {
		if ws, err := f.c.Jobservice.GetWorkers(ctx, jobservice.NewGetWorkersParams().WithPoolID(pool)); err == nil {
			for _, w := range ws.Payload {
				if w.JobID != "" {
					return w.JobID
				}
			}
		}
	}
	return strconv.FormatInt(gcID, 10)
}
