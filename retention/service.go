package retention

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Registry is what an execution reads and deletes; *registry.Registry
// implements it. Retention deletes references (an artifact and its tags);
// garbage collection frees the bytes later.
type Registry interface {
	// ListRepositories lists the repositories whose name starts with
	// prefix ("<project>/"), with their total count.
	ListRepositories(ctx context.Context, prefix string, page core.Page) ([]registry.Repository, int, error)
	// ListArtifacts lists a repository's manifests with their tags and
	// push and pull times, with their total count.
	ListArtifacts(ctx context.Context, repo string, page core.Page) ([]registry.Artifact, int, error)
	// ArtifactChildren lists the manifests an image index lists.
	ArtifactChildren(ctx context.Context, d digest.Digest) ([]digest.Digest, error)
	// DeleteArtifact removes a manifest and its tags from a repository;
	// the registry's delete gates may refuse it.
	DeleteArtifact(ctx context.Context, repo string, d digest.Digest) error
}

// Projects names a project by its immutable id; *project.Store implements
// it. An execution builds its repository prefix from the current name.
type Projects interface {
	GetByID(ctx context.Context, id int64) (project.Project, error)
}

// Queue runs durable jobs; *jobs.Runner implements it.
type Queue interface {
	Enqueue(ctx context.Context, args jobs.Args, opts ...jobs.EnqueueOption) (int64, error)
	Cancel(ctx context.Context, id int64) (*jobs.Status, error)
}

// ImmutableRules gives a project's tag immutability rules;
// *immutable.Store implements it. An execution never deletes an artifact
// holding an immutable tag (see WithImmutable).
type ImmutableRules interface {
	Rules(ctx context.Context, projectID int64) ([]immutable.Rule, error)
}

// ArtifactLabels gives the names of the labels the artifacts of one
// repository carry; a label store (package label, behind a small
// adapter) implements it. repo is the repository's full name
// ("library/app"); digests without labels may be absent from the map. An
// execution asks once per repository, and only when an enabled rule of
// its policy has label selectors (see WithArtifactLabels).
type ArtifactLabels interface {
	LabelNames(ctx context.Context, projectID int64, repo string, digests []digest.Digest) (map[digest.Digest][]string, error)
}

// Summary is what a finished execution did, for a notifier (Harbor's
// TAG_RETENTION event).
type Summary struct {
	ExecutionID int64
	PolicyID    int64
	ProjectID   int64
	ProjectName string
	Trigger     string
	Status      string
	DryRun      bool
	// Rules are the policy's rules as the execution applied them.
	Rules []Rule
	// Total and Retained sum the tasks': artifacts judged, and those
	// still there.
	Total    int
	Retained int
	// Deleted lists what the execution deleted (at most MaxSummaryDeleted;
	// DeletedCount counts them all).
	Deleted      []DeletedArtifact
	DeletedCount int
}

// MaxSummaryDeleted bounds Summary.Deleted.
const MaxSummaryDeleted = 1000

// DeletedArtifact is an artifact an execution deleted, with the tags it
// held.
type DeletedArtifact struct {
	Repository string
	Digest     string
	Tags       []string
}

// Notifier is told of every execution that finished and was not a dry
// run (a dry run deletes nothing to tell of).
type Notifier func(ctx context.Context, projectID int64, s Summary)

// Service keeps one retention policy per project, runs executions of it
// as durable jobs (on demand, and on its schedule), and records them:
// executions, a task per repository, and each task's log. It is safe for
// concurrent use.
//
// Scheduling is one Cron ticking every minute (WithTick) that starts the
// executions of the policies whose schedule is due, claiming each with a
// conditional update, so that several processes on one database start a
// scheduled execution once. A schedule is honoured to the tick: a cron
// with seconds fires at the first tick at or after its time. A schedule
// missed while no process ran fires once at the first tick after.
type Service struct {
	db        *sqldb.DB
	reg       Registry
	projects  Projects
	queue     Queue
	immutable ImmutableRules
	labels    ArtifactLabels
	notify    Notifier
	log       *slog.Logger
	now       func() time.Time
	tick      string
	cron      *schedule.Cron
	stats     *stats

	mu      sync.Mutex
	running map[int64]*active // executions working in this process
}

// ServiceOption configures a Service.
type ServiceOption func(*Service)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) ServiceOption { return func(s *Service) { s.log = l } }

// WithClock sets the time source of evaluations and records.
func WithClock(now func() time.Time) ServiceOption { return func(s *Service) { s.now = now } }

// WithImmutable protects the artifacts holding a tag that the project's
// immutability rules hold: they are kept, reported as protected (Harbor's
// retention reports them failed). Without it nothing is protected, and a
// delete gate enforcing immutability refuses such deletions instead (the
// task logs the refusal and ends Error).
func WithImmutable(r ImmutableRules) ServiceOption { return func(s *Service) { s.immutable = r } }

// WithArtifactLabels reads the artifacts' labels from l for the rules'
// label selectors (Rule.LabelSelectors): an execution of a policy with an
// enabled rule that has some asks l once per repository; other policies
// never ask. Without it, an execution of such a policy fails before it
// deletes anything: judging without the labels would take every artifact
// for unlabelled.
func WithArtifactLabels(l ArtifactLabels) ServiceOption { return func(s *Service) { s.labels = l } }

// WithNotifier tells n of every finished execution that was not a dry run.
func WithNotifier(n Notifier) ServiceOption { return func(s *Service) { s.notify = n } }

// DefaultTick is when the scheduler looks for due policies: every minute.
const DefaultTick = "0 * * * * *"

// WithTick sets when the scheduler looks for due policies, a cron
// expression (default DefaultTick; "* * * * * *" every second).
func WithTick(cron string) ServiceOption { return func(s *Service) { s.tick = cron } }

// New applies the package's migrations to db and returns a Service that
// reads and deletes through reg, names projects with projects and runs
// executions on queue.
func New(ctx context.Context, db *sqldb.DB, reg Registry, projects Projects, queue Queue, opts ...ServiceOption) (*Service, error) {
	if db == nil || reg == nil || projects == nil || queue == nil {
		return nil, errors.New("retention: a database, a registry, the projects and a job queue are required")
	}
	s := &Service{db: db, reg: reg, projects: projects, queue: queue, log: slog.Default(), now: time.Now,
		tick: DefaultTick, stats: newStats(), running: map[int64]*active{}}
	for _, o := range opts {
		o(s)
	}
	if _, err := (schedule.Schedule{Type: schedule.Custom, Cron: s.tick}).Normalized(); err != nil {
		return nil, fmt.Errorf("retention: tick: %w", err)
	}
	if err := db.MigrateDialect(ctx, "retention", migrations); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	s.cron = schedule.NewCron(s.fire)
	return s, nil
}

// Register adds the execution worker to the job runner's workers.
func (s *Service) Register(ws *jobs.Workers) error {
	return jobs.Register[executionArgs](ws, &worker{s: s})
}

// Start runs the scheduler until Close.
func (s *Service) Start(context.Context) error {
	return s.cron.Set(schedule.Schedule{Type: schedule.Custom, Cron: s.tick})
}

// Close stops the scheduler; executions in progress stop with the job
// runner (and resume when it next starts).
func (s *Service) Close() { s.cron.Stop() }

// Run starts an execution of policy policyID now and returns it, Pending.
// A policy runs one execution at a time: while one is pending or running,
// Run fails with core.ErrConflict. trigger is TriggerManual or
// TriggerSchedule.
func (s *Service) Run(ctx context.Context, policyID int64, dryRun bool, trigger string) (Execution, error) {
	if trigger != TriggerManual && trigger != TriggerSchedule {
		return Execution{}, fmt.Errorf("retention: trigger %q: want %s or %s: %w", trigger, TriggerManual, TriggerSchedule, core.ErrInvalid)
	}
	now := s.now().UTC().UnixNano()
	var id int64
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// The policy's row, locked, orders the starters of its executions
		// (on PostgreSQL they would otherwise all find none in progress
		// and each insert one) and keeps a Delete out until the new
		// execution is committed, for the Delete to remove.
		var pid int64
		err := tx.QueryRow(ctx, `SELECT project_id FROM retention_policies WHERE project_id = ?`+tx.ForUpdate(), policyID).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			return policyNotFound(policyID)
		}
		if err != nil {
			return err
		}
		var busy int64
		err = tx.QueryRow(ctx, `SELECT id FROM retention_executions WHERE policy_id = ? AND status IN (?, ?) ORDER BY id LIMIT 1`,
			policyID, StatusPending, StatusRunning).Scan(&busy)
		if err == nil {
			return fmt.Errorf("retention: execution %d of policy %d is in progress: %w", busy, policyID, core.ErrConflict)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO retention_executions (policy_id, status, trigger_kind, dry_run, start_time)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, policyID, StatusPending, trigger, dryRun, now).Scan(&id)
	})
	if err != nil {
		return Execution{}, err
	}
	jobID, err := s.queue.Enqueue(ctx, executionArgs{ExecutionID: id}, jobs.UniqueByArgs())
	if err != nil {
		bg := context.WithoutCancel(ctx)
		_ = s.endExecution(bg, id, StatusError, "enqueueing: "+err.Error())
		return Execution{}, fmt.Errorf("retention: enqueueing execution %d: %w", id, err)
	}
	if err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE retention_executions SET job_id = ? WHERE id = ?`, jobID, id)
		return err
	}); err != nil {
		return Execution{}, err
	}
	// As recorded, not read back: its job may have started it by now
	// (soon after the enqueue with a job runner on PostgreSQL).
	return Execution{ID: id, PolicyID: policyID, Status: StatusPending, Trigger: trigger, DryRun: dryRun,
		StartTime: fromNanos(now)}, nil
}

// Stop stops a pending or running execution of policy policyID: it ends
// Stopped, keeping what it did; the tasks it had not finished end Stopped
// too. Stopping a finished execution is core.ErrPrecondition.
func (s *Service) Stop(ctx context.Context, policyID, id int64) error {
	e, err := s.Execution(ctx, policyID, id)
	if err != nil {
		return err
	}
	if finished(e.Status) {
		return fmt.Errorf("retention: execution %d is %s: %w", id, e.Status, core.ErrPrecondition)
	}
	here := s.stopHere(id) // its worker records the stop
	var jobID int64
	if err := s.db.QueryRow(ctx, `SELECT job_id FROM retention_executions WHERE id = ?`, id).Scan(&jobID); err != nil {
		return err
	}
	s.cancelJobs(ctx, []int64{jobID})
	if !here {
		// Not working here: it will not start, or its worker (in another
		// process) sees the status at its next repository.
		return s.endExecution(ctx, id, StatusStopped, "")
	}
	return nil
}

// stopHere stops execution id if it works in this process, and reports
// whether it did.
func (s *Service) stopHere(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.running[id]
	if a == nil {
		return false
	}
	a.stopped = true
	a.cancel()
	return true
}

// inProgressJobs lists the jobs of a policy's executions in progress.
func (s *Service) inProgressJobs(ctx context.Context, policyID int64) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT id, job_id FROM retention_executions WHERE policy_id = ? AND status IN (?, ?)`,
		policyID, StatusPending, StatusRunning)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobIDs []int64
	for rows.Next() {
		var id, job int64
		if err := rows.Scan(&id, &job); err != nil {
			return nil, err
		}
		s.stopHere(id)
		jobIDs = append(jobIDs, job)
	}
	return jobIDs, rows.Err()
}

// cancelJobs cancels durable jobs, logging failures: the executions'
// records say what happened.
func (s *Service) cancelJobs(ctx context.Context, ids []int64) {
	for _, id := range ids {
		if id == 0 {
			continue
		}
		if _, err := s.queue.Cancel(ctx, id); err != nil && !errors.Is(err, jobs.ErrNotFound) {
			s.log.WarnContext(ctx, "retention: cancelling a job", "job", id, "err", err)
		}
	}
}

// endExecution records an execution's end, unless it ended already; the
// tasks it had not finished end Stopped (or Error, for an Error).
func (s *Service) endExecution(ctx context.Context, id int64, status, errText string) error {
	taskStatus := StatusStopped
	if status == StatusError {
		taskStatus = StatusError
	}
	now := s.now().UTC().UnixNano()
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE retention_executions SET status = ?, error = ?, end_time = ?
			WHERE id = ? AND status IN (?, ?)`, status, errText, now, id, StatusPending, StatusRunning)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE retention_tasks SET status = ?, end_time = ? WHERE execution_id = ? AND status IN (?, ?)`,
			taskStatus, now, id, StatusPending, StatusRunning)
		return err
	})
}

// fire starts the executions of the policies whose schedule is due.
func (s *Service) fire(time.Time) {
	ctx := context.Background()
	now := s.now().UTC()
	type due struct {
		id   int64
		cron string
		next int64
	}
	rows, err := s.db.Query(ctx, `SELECT project_id, schedule, next_run_at FROM retention_policies
		WHERE next_run_at > 0 AND next_run_at <= ? AND schedule <> '' ORDER BY next_run_at LIMIT 1000`, now.UnixNano())
	if err != nil {
		s.log.Error("retention: reading due schedules", "err", err)
		return
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.cron, &d.next); err != nil {
			rows.Close()
			s.log.Error("retention: reading due schedules", "err", err)
			return
		}
		list = append(list, d)
	}
	rows.Close()
	for _, d := range list {
		next := nanos(schedule.Schedule{Type: schedule.Custom, Cron: d.cron}.Next(now))
		claimed := false
		err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
			res, err := tx.Exec(ctx, `UPDATE retention_policies SET next_run_at = ? WHERE project_id = ? AND next_run_at = ?`,
				next, d.id, d.next)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			claimed = n == 1
			return err
		})
		if err != nil {
			s.log.Error("retention: claiming a scheduled execution", "policy", d.id, "err", err)
			continue
		}
		if !claimed { // another process's tick, or the policy changed
			continue
		}
		if _, err := s.Run(ctx, d.id, false, TriggerSchedule); err != nil {
			if errors.Is(err, core.ErrConflict) {
				s.log.Info("retention: scheduled execution skipped: one is in progress", "policy", d.id)
			} else if !errors.Is(err, core.ErrNotFound) {
				s.log.Error("retention: scheduled execution", "policy", d.id, "err", err)
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
