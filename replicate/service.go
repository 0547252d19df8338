package replicate

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"github.com/berthlabs/berth/core"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Service keeps endpoints and policies, runs executions as durable jobs,
// and fires the scheduled and event-based triggers.
type Service struct {
	st      *store
	local   *Endpoint
	runner  *jobs.Runner
	log     *slog.Logger
	copts   []CopyOption
	labels  SourceLabels // of the local registry's artifacts
	retries int
	backoff time.Duration
	batch   time.Duration

	events chan eventItem

	cronMu      sync.Mutex
	cron        *cron.Cron
	entries     map[int64]scheduled
	gen         int           // changes of entries, for resync
	resyncEvery time.Duration // with a shared database

	mu      sync.Mutex
	running map[int64]context.CancelFunc // executions this process works on

	endpointUser func(ctx context.Context, id int64) (string, error)

	stopOnce sync.Once
	stop     chan struct{}
	done     sync.WaitGroup
}

// ServiceOption configures a Service.
type ServiceOption func(*Service) error

// WithSecretKey encrypts endpoint passwords at rest with AES-256-GCM under
// key (32 bytes). Without it they are stored as they are.
func WithSecretKey(key []byte) ServiceOption {
	return func(s *Service) error {
		sl, err := seal.New(key)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		s.st.seal = sl
		return nil
	}
}

// WithEndpointUsers tells the service about users of endpoints other than
// its policies (proxy cache projects): user names the first user of
// endpoint id, "" for none, and DeleteEndpoint refuses while there is one.
func WithEndpointUsers(user func(ctx context.Context, id int64) (string, error)) ServiceOption {
	return func(s *Service) error { s.endpointUser = user; return nil }
}

// WithLogger sets where the service logs (default slog.Default()).
func WithLogger(l *slog.Logger) ServiceOption {
	return func(s *Service) error { s.log = l; return nil }
}

// WithCopyOptions adds options to every execution's Copier (chunk size,
// blob concurrency, resumes).
func WithCopyOptions(opts ...CopyOption) ServiceOption {
	return func(s *Service) error { s.copts = append(s.copts, opts...); return nil }
}

// WithLocalLabels gives the labels of the local registry's artifacts
// (Harbor's, package label) to the executions whose source is the local
// registry (push policies), so that their label filters select by them
// too (see WithSourceLabels). Pull policies read labels from the remote
// artifacts only.
func WithLocalLabels(l SourceLabels) ServiceOption {
	return func(s *Service) error { s.labels = l; return nil }
}

// WithLocalCharts lets policies whose resource filter selects charts
// (SelectsCharts) replicate the versions of the local classic chart
// repositories: rt serves the ChartMuseum API (chart.Repo's Handler,
// trusted: no access checks) and projects lists the local projects.
func WithLocalCharts(rt http.RoundTripper, projects func(ctx context.Context) ([]string, error)) ServiceOption {
	return func(s *Service) error {
		s.local.ChartTransport, s.local.ChartProjects = rt, projects
		return nil
	}
}

// WithTaskRetries sets how many times a failed task runs again (default
// 3), after base, 2·base, 4·base… (at most a minute), or what a
// Retry-After asked for when that is longer.
func WithTaskRetries(n int, base time.Duration) ServiceOption {
	return func(s *Service) error { s.retries, s.backoff = n, base; return nil }
}

// WithEventBatch sets how long events are gathered into one execution
// (default 200ms).
func WithEventBatch(d time.Duration) ServiceOption {
	return func(s *Service) error { s.batch = d; return nil }
}

// NewService applies the replication schema to db and returns a service
// replicating with the local registry (reached through local, e.g.
// registry.Registry.Transport("replication")) that runs executions on
// runner. Register Worker with the runner before it starts, and call
// Start.
func NewService(ctx context.Context, db *sqldb.DB, local http.RoundTripper, runner *jobs.Runner, opts ...ServiceOption) (*Service, error) {
	if db == nil || local == nil || runner == nil {
		return nil, errors.New("replicate: a database, the local registry's transport and a job runner are required")
	}
	if err := db.MigrateDialect(ctx, "replicate", migrations); err != nil {
		return nil, fmt.Errorf("replicate: %w", err)
	}
	plain, err := seal.New(nil) // secrets stay as they are until WithSecretKey
	if err != nil {
		return nil, err
	}
	s := &Service{
		st:      &store{db: db, seal: plain, now: time.Now},
		local:   &Endpoint{Name: "local", URL: "http://berth.local", Transport: local},
		runner:  runner,
		log:     slog.Default(),
		retries: 3,
		backoff: 2 * time.Second,
		batch:   200 * time.Millisecond,
		events:  make(chan eventItem, 4096),
		entries: map[int64]scheduled{},
		running: map[int64]context.CancelFunc{},
		stop:    make(chan struct{}),

		resyncEvery: defaultResync,
	}
	s.cron = cron.New(cron.WithParser(cronParser), cron.WithLocation(time.UTC))
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Register adds the job worker of executions to the runner's workers;
// call it before the runner starts.
func (s *Service) Register(ws *jobs.Workers) error {
	return jobs.Register[ExecutionArgs](ws, &worker{s: s})
}

// Start schedules the cron policies, starts handling events, and gives
// executions that a crash left unfinished a new job. Call it before the
// runner starts. Everything stops with ctx or Close.
//
// Every process running the service on one database runs the schedules;
// each tick starts one execution, by the first process to claim it. On a
// database other processes share (PostgreSQL; sqldb.DB.Exclusive is
// false) the process reads the scheduled policies again every minute, to
// run those that others created or changed.
func (s *Service) Start(ctx context.Context) error {
	if err := s.resync(ctx); err != nil {
		return err
	}
	s.cron.Start()
	if err := s.resume(ctx); err != nil {
		return err
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		s.dispatch()
	}()
	if !s.st.db.Exclusive() {
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			s.resyncLoop()
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.stop:
		}
	}()
	return nil
}

// Close stops the scheduler and the event handling. Executions are the
// runner's: stop it to stop them.
func (s *Service) Close() {
	s.stopOnce.Do(func() {
		close(s.stop)
		<-s.cron.Stop().Done()
		s.done.Wait()
	})
}

// resume enqueues a job for every unfinished execution whose job will not
// run again by itself (it ran in a process that died).
//
// With an exclusive database (SQLite) a job left running is this
// process's predecessor's. With a shared one a running job may be another
// live process's, and River's rescuer hands a dead process's job on by
// itself (jobs.WithRescueAfter), as it retries a retryable one: only
// jobs that ended, or are gone, leave their execution to resume here.
func (s *Service) resume(ctx context.Context) error {
	runsAgain := []jobs.State{jobs.StateAvailable, jobs.StateScheduled, jobs.StatePending}
	if !s.st.db.Exclusive() {
		runsAgain = append(runsAgain, jobs.StateRunning, jobs.StateRetryable)
	}
	ids, err := s.st.running(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		e, err := s.st.execution(ctx, id)
		if err != nil {
			return err
		}
		if e.jobID != 0 {
			st, err := s.runner.Status(ctx, e.jobID)
			if err == nil && slices.Contains(runsAgain, st.State) {
				continue
			}
		}
		s.log.Info("replication: resuming an unfinished execution", "execution", id)
		if err := s.enqueue(ctx, id, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) enqueue(ctx context.Context, execID, nonce int64) error {
	job, err := s.runner.Enqueue(ctx, ExecutionArgs{ExecutionID: execID, Nonce: nonce}, jobs.UniqueByArgs())
	if err != nil {
		return err
	}
	return s.st.setJob(ctx, execID, job)
}

// --- endpoints

// CreateEndpoint stores e and returns its id.
func (s *Service) CreateEndpoint(ctx context.Context, e Endpoint) (int64, error) {
	if err := e.Validate(); err != nil {
		return 0, err
	}
	return s.st.createEndpoint(ctx, e)
}

// UpdateEndpoint replaces endpoint e.ID. An empty Password keeps the one
// stored (ClearPassword drops it), but only while the URL keeps its
// origin: a stored password is never sent to an address it was not given
// for, so moving an endpoint that has one to another scheme, host or port
// fails with ErrCredentialRequired unless the password comes again.
func (s *Service) UpdateEndpoint(ctx context.Context, e Endpoint) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.ClearPassword && e.Password != "" {
		return fmt.Errorf("%w: give a password or clear it, not both", ErrInvalid)
	}
	return s.st.updateEndpoint(ctx, e, e.Password == "" && !e.ClearPassword)
}

// DeleteEndpoint deletes an endpoint no policy uses, nor anything
// WithEndpointUsers names.
func (s *Service) DeleteEndpoint(ctx context.Context, id int64) error {
	if s.endpointUser != nil {
		user, err := s.endpointUser(ctx, id)
		if err != nil {
			return err
		}
		if user != "" {
			return fmt.Errorf("%w: endpoint %d is used by %s", ErrInUse, id, user)
		}
	}
	return s.st.deleteEndpoint(ctx, id)
}

// EndpointWithPassword returns an endpoint with its password, for a
// component of this process that connects to it (the proxy cache).
func (s *Service) EndpointWithPassword(ctx context.Context, id int64) (*Endpoint, error) {
	return s.st.endpoint(ctx, id, true)
}

// Endpoint returns an endpoint, without its password.
func (s *Service) Endpoint(ctx context.Context, id int64) (*Endpoint, error) {
	return s.st.endpoint(ctx, id, false)
}

// Endpoints lists endpoints whose name contains name, without passwords.
func (s *Service) Endpoints(ctx context.Context, name string, page core.Page) ([]Endpoint, int, error) {
	return s.st.endpoints(ctx, name, page.Offset, page.Limit)
}

// PingEndpoint checks an endpoint's health: the stored one when e.ID is
// set, else e as given.
func (s *Service) PingEndpoint(ctx context.Context, e Endpoint) error {
	if e.ID != 0 {
		stored, err := s.st.endpoint(ctx, e.ID, true)
		if err != nil {
			return err
		}
		return Ping(ctx, stored)
	}
	if e.Name == "" {
		e.Name = "ping"
	}
	if err := e.Validate(); err != nil {
		return err
	}
	return Ping(ctx, &e)
}

// --- policies

// CreatePolicy stores p and returns its id.
func (s *Service) CreatePolicy(ctx context.Context, p Policy) (int64, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	id, err := s.st.createPolicy(ctx, p)
	if err != nil {
		return 0, err
	}
	p.ID = id
	return id, s.schedule(&p)
}

// UpdatePolicy replaces policy p.ID.
func (s *Service) UpdatePolicy(ctx context.Context, p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := s.st.updatePolicy(ctx, p); err != nil {
		return err
	}
	return s.schedule(&p)
}

// DeletePolicy deletes a policy with no running execution.
func (s *Service) DeletePolicy(ctx context.Context, id int64) error {
	if err := s.st.deletePolicy(ctx, id); err != nil {
		return err
	}
	s.unschedule(id)
	return nil
}

// Policy returns a policy.
func (s *Service) Policy(ctx context.Context, id int64) (*Policy, error) { return s.st.policy(ctx, id) }

// Policies lists policies whose name contains name.
func (s *Service) Policies(ctx context.Context, name string, page core.Page) ([]Policy, int, error) {
	return s.st.policies(ctx, name, page.Offset, page.Limit)
}

// --- executions

// StartExecution starts a run of policy id now and returns its id.
func (s *Service) StartExecution(ctx context.Context, policyID int64, trig TriggerType) (int64, error) {
	p, err := s.st.policy(ctx, policyID)
	if err != nil {
		return 0, err
	}
	if !p.Enabled && trig != TriggerManual {
		return 0, fmt.Errorf("%w: policy %q is disabled", ErrInvalid, p.Name)
	}
	return s.startExecution(ctx, p.ID, trig, nil)
}

func (s *Service) startExecution(ctx context.Context, policyID int64, trig TriggerType, request []item) (int64, error) {
	id, err := s.st.createExecution(ctx, policyID, trig, request)
	if err != nil {
		return 0, err
	}
	if err := s.launch(ctx, id); err != nil {
		return 0, err
	}
	return id, nil
}

// launch gives a new execution its job; one that cannot have it fails.
func (s *Service) launch(ctx context.Context, id int64) error {
	if err := s.enqueue(ctx, id, 0); err != nil {
		_ = s.st.finishExecution(ctx, id, StatusFailed, "cannot enqueue: "+err.Error())
		return err
	}
	return nil
}

// StopExecution stops a running execution: its tasks not done are
// marked Stopped and its job is cancelled.
func (s *Service) StopExecution(ctx context.Context, id int64) error {
	e, err := s.st.execution(ctx, id)
	if err != nil {
		return err
	}
	if e.Status.terminal() {
		return nil
	}
	if err := s.st.finishExecution(ctx, id, StatusStopped, "stopped by request"); err != nil {
		return err
	}
	s.mu.Lock()
	cancel := s.running[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if e.jobID != 0 {
		if _, err := s.runner.Cancel(ctx, e.jobID); err != nil && !errors.Is(err, jobs.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Execution returns an execution with its task counts.
func (s *Service) Execution(ctx context.Context, id int64) (*Execution, error) {
	e, err := s.st.execution(ctx, id)
	if err != nil {
		return nil, err
	}
	return &e.Execution, nil
}

// Executions lists executions, newest first, of one policy (0: all),
// with one status ("" all).
func (s *Service) Executions(ctx context.Context, policyID int64, status Status, page core.Page) ([]Execution, int, error) {
	return s.st.executions(ctx, policyID, status, page.Offset, page.Limit)
}

// Tasks lists an execution's tasks.
func (s *Service) Tasks(ctx context.Context, execID int64, page core.Page) ([]Task, int, error) {
	if _, err := s.st.execution(ctx, execID); err != nil {
		return nil, 0, err
	}
	rows, total, err := s.st.tasks(ctx, execID, page.Offset, page.Limit)
	out := make([]Task, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Task)
	}
	return out, total, err
}

// TaskLog returns a task's log.
func (s *Service) TaskLog(ctx context.Context, execID, taskID int64) (string, error) {
	return s.st.taskLog(ctx, execID, taskID)
}

func uniqueTags(tags []string) []string {
	slices.Sort(tags)
	return slices.Compact(tags)
}
