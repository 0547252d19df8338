package audit

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed purgedb/migrations
var purgeMigrations embed.FS

// PurgeQueue runs durable jobs; *jobs.Runner implements it.
type PurgeQueue interface {
	Enqueue(ctx context.Context, args jobs.Args, opts ...jobs.EnqueueOption) (int64, error)
	Cancel(ctx context.Context, id int64) (*jobs.Status, error)
}

// Kinds of purge runs, Harbor's job kinds.
const (
	RunManual   = "MANUAL"
	RunSchedule = "SCHEDULE"
)

// Purge run statuses, Harbor's job statuses.
const (
	RunPending = "Pending"
	RunRunning = "Running"
	RunSuccess = "Success"
	RunError   = "Error"
	RunStopped = "Stopped"
)

// Bounds of purge parameters.
const (
	MaxRetentionHours  = 100 * 365 * 24
	maxPurgeOperations = 64
	maxOperationLength = 64
)

// PurgeParams are a purge run's parameters, Harbor's job_parameters.
type PurgeParams struct {
	// RetentionHours keeps the entries of the last this many hours
	// (Harbor's audit_retention_hour): older ones are purged. At least 1.
	RetentionHours int `json:"audit_retention_hour"`
	// Operations are the operations to purge (Harbor's
	// include_operations), as PurgeActions reads them; none: every
	// operation.
	Operations []string `json:"include_operations,omitempty"`
	DryRun     bool     `json:"dry_run"`
}

func (p PurgeParams) normalized() (PurgeParams, error) {
	if p.RetentionHours < 1 || p.RetentionHours > MaxRetentionHours {
		return p, fmt.Errorf("audit purge: retention of %d hours: want 1 to %d: %w", p.RetentionHours,
			MaxRetentionHours, core.ErrInvalid)
	}
	var ops []string
	for _, op := range p.Operations {
		op = strings.TrimSpace(op)
		switch {
		case op == "":
			continue
		case len(op) > maxOperationLength || strings.ContainsAny(op, ",\n"):
			return p, fmt.Errorf("audit purge: operation %q: %w", op, core.ErrInvalid)
		}
		ops = append(ops, op)
	}
	if len(ops) > maxPurgeOperations {
		return p, fmt.Errorf("audit purge: more than %d operations: %w", maxPurgeOperations, core.ErrInvalid)
	}
	p.Operations = ops
	return p, nil
}

// PurgeRun is one audit log purge run.
type PurgeRun struct {
	ID               int64
	Kind             string // RunManual or RunSchedule
	Status           string
	Params           PurgeParams
	Created, Updated time.Time
	// Purged is how many entries the run deleted, or in a dry run would
	// delete; while it runs, its log tells how far it got.
	Purged int64
	Error  string
}

// PurgeService schedules, runs and records audit log purges: one at a
// time, as durable jobs (a run cut off by a crash runs again from the
// start, which purges what the cut-off run had not), with a history of
// runs and their logs.
type PurgeService struct {
	store  *Store
	db     *sqldb.DB
	queue  PurgeQueue
	log    *slog.Logger
	now    func() time.Time
	batch  int
	cron   *schedule.Cron
	mu     sync.Mutex
	cancel map[int64]context.CancelFunc // runs working in this process
}

// PurgeOption configures a PurgeService.
type PurgeOption func(*PurgeService)

// WithPurgeLogger sets the logger (default slog.Default()).
func WithPurgeLogger(l *slog.Logger) PurgeOption { return func(s *PurgeService) { s.log = l } }

// WithPurgeClock sets the time source of run records and of the cut-off
// time each run computes from its retention.
func WithPurgeClock(now func() time.Time) PurgeOption { return func(s *PurgeService) { s.now = now } }

// WithPurgeBatch sets how many entries each purge transaction deletes at
// most (default 5,000).
func WithPurgeBatch(n int) PurgeOption { return func(s *PurgeService) { s.batch = n } }

// NewPurgeService applies the purge's migrations to the store's database
// and returns a service that purges store, running on queue.
func NewPurgeService(ctx context.Context, store *Store, queue PurgeQueue, opts ...PurgeOption) (*PurgeService, error) {
	if store == nil || queue == nil {
		return nil, errors.New("audit purge: a store and a job queue are required")
	}
	s := &PurgeService{store: store, db: store.db, queue: queue, log: slog.Default(), now: time.Now,
		batch: purgeChunk, cancel: map[int64]context.CancelFunc{}}
	for _, o := range opts {
		o(s)
	}
	sub, err := fs.Sub(purgeMigrations, "purgedb")
	if err != nil {
		return nil, err
	}
	if err := s.db.MigrateDialect(ctx, "audit_purge", sub); err != nil {
		return nil, fmt.Errorf("audit purge: %w", err)
	}
	s.cron = schedule.NewCron(s.fire)
	return s, nil
}

// Register adds the run worker to the job runner's workers.
func (s *PurgeService) Register(ws *jobs.Workers) error {
	return jobs.Register[purgeArgs](ws, &purgeWorker{s: s})
}

// Start runs the stored schedule until Close.
func (s *PurgeService) Start(ctx context.Context) error {
	sc, _, err := s.Schedule(ctx)
	if err != nil {
		return err
	}
	return s.cron.Set(sc)
}

// Close stops the schedule; runs in progress stop with the job runner.
func (s *PurgeService) Close() { s.cron.Stop() }

// Run starts a run now and returns it, Pending. Only one runs at a time:
// while one is pending or running, Run fails with core.ErrConflict.
func (s *PurgeService) Run(ctx context.Context, p PurgeParams, kind string) (PurgeRun, error) {
	if kind != RunManual && kind != RunSchedule {
		return PurgeRun{}, fmt.Errorf("audit purge: run kind %q: %w", kind, core.ErrInvalid)
	}
	p, err := p.normalized()
	if err != nil {
		return PurgeRun{}, err
	}
	now := s.now().UnixNano()
	var id int64
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		var busy int64
		err := tx.QueryRow(ctx, `SELECT id FROM audit_purge_runs WHERE status IN (?, ?) ORDER BY id LIMIT 1`,
			RunPending, RunRunning).Scan(&busy)
		if err == nil {
			return fmt.Errorf("audit log purge %d is already in progress: %w", busy, core.ErrConflict)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO audit_purge_runs (kind, status, retention_hours, operations, dry_run,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, kind, RunPending, p.RetentionHours,
			strings.Join(p.Operations, ","), p.DryRun, now, now).Scan(&id)
	})
	if err != nil {
		return PurgeRun{}, err
	}
	jobID, err := s.queue.Enqueue(ctx, purgeArgs{RunID: id}, jobs.UniqueByArgs())
	if err != nil {
		_ = s.finish(context.WithoutCancel(ctx), id, RunError, 0, "enqueueing: "+err.Error())
		return PurgeRun{}, err
	}
	if err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE audit_purge_runs SET job_id = ? WHERE id = ?`, jobID, id)
		return err
	}); err != nil {
		return PurgeRun{}, err
	}
	return s.Get(ctx, id)
}

// Stop stops a pending or running run; it ends Stopped, keeping what it
// purged. Stopping a finished run is core.ErrPrecondition.
func (s *PurgeService) Stop(ctx context.Context, id int64) error {
	r, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if r.Status != RunPending && r.Status != RunRunning {
		return fmt.Errorf("audit log purge %d is %s: %w", id, r.Status, core.ErrPrecondition)
	}
	s.mu.Lock()
	cancel := s.cancel[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	var jobID int64
	if err := s.db.QueryRow(ctx, `SELECT job_id FROM audit_purge_runs WHERE id = ?`, id).Scan(&jobID); err != nil {
		return err
	}
	if jobID != 0 {
		if _, err := s.queue.Cancel(ctx, jobID); err != nil && !errors.Is(err, jobs.ErrNotFound) {
			return err
		}
	}
	if cancel == nil { // not working here: it will not start, or its worker sees the status
		return s.finish(ctx, id, RunStopped, 0, "")
	}
	return nil
}

const purgeRunCols = `id, kind, status, retention_hours, operations, dry_run, created_at, updated_at, purged, error`

func scanPurgeRun(row interface{ Scan(...any) error }) (PurgeRun, error) {
	var r PurgeRun
	var ops string
	var created, updated int64
	err := row.Scan(&r.ID, &r.Kind, &r.Status, &r.Params.RetentionHours, &ops, &r.Params.DryRun, &created, &updated,
		&r.Purged, &r.Error)
	if ops != "" {
		r.Params.Operations = strings.Split(ops, ",")
	}
	r.Created, r.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return r, err
}

// Get returns one run, or an error matching core.ErrNotFound.
func (s *PurgeService) Get(ctx context.Context, id int64) (PurgeRun, error) {
	r, err := scanPurgeRun(s.db.QueryRow(ctx, `SELECT `+purgeRunCols+` FROM audit_purge_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("audit log purge %d: %w", id, core.ErrNotFound)
	}
	return r, err
}

// History lists runs, newest first (default 20, at most 100 a page), with
// the total count.
func (s *PurgeService) History(ctx context.Context, page core.Page) ([]PurgeRun, int, error) {
	page = page.Bounded(20, 100)
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_purge_runs`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+purgeRunCols+` FROM audit_purge_runs ORDER BY id DESC LIMIT ? OFFSET ?`,
		page.Limit, page.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []PurgeRun{}
	for rows.Next() {
		r, err := scanPurgeRun(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// Log returns a run's log.
func (s *PurgeService) Log(ctx context.Context, id int64) (string, error) {
	var l string
	err := s.db.QueryRow(ctx, `SELECT log FROM audit_purge_runs WHERE id = ?`, id).Scan(&l)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("audit log purge %d: %w", id, core.ErrNotFound)
	}
	return l, err
}

const (
	purgeSettingSchedule = "schedule"
	purgeSettingParams   = "params"
)

// Schedule returns the schedule and the parameters of scheduled runs.
func (s *PurgeService) Schedule(ctx context.Context) (schedule.Schedule, PurgeParams, error) {
	sc := schedule.Schedule{Type: schedule.None}
	var p PurgeParams
	rows, err := s.db.Query(ctx, `SELECT name, value FROM audit_purge_settings`)
	if err != nil {
		return sc, p, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return sc, p, err
		}
		switch name {
		case purgeSettingSchedule:
			err = json.Unmarshal([]byte(value), &sc)
		case purgeSettingParams:
			err = json.Unmarshal([]byte(value), &p)
		}
		if err != nil {
			return sc, p, fmt.Errorf("audit purge: stored %s: %w", name, err)
		}
	}
	return sc, p, rows.Err()
}

// SetSchedule stores the schedule and its runs' parameters, and applies it
// at once when Start runs the schedule here. The parameters are checked
// as Run checks them unless the schedule is None.
func (s *PurgeService) SetSchedule(ctx context.Context, sc schedule.Schedule, p PurgeParams) (schedule.Schedule, error) {
	sc, err := sc.Normalized()
	if err != nil {
		return sc, err
	}
	if sc.Type != schedule.None {
		if p, err = p.normalized(); err != nil {
			return sc, err
		}
	}
	scJSON, _ := json.Marshal(sc)
	pJSON, _ := json.Marshal(p)
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		for name, v := range map[string]string{purgeSettingSchedule: string(scJSON), purgeSettingParams: string(pJSON)} {
			if _, err := tx.Exec(ctx, `INSERT INTO audit_purge_settings (name, value) VALUES (?, ?)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return sc, err
	}
	return sc, s.cron.Set(sc)
}

// fire starts a scheduled run; a run already in progress (another
// process's tick, or a long manual run) wins.
func (s *PurgeService) fire(time.Time) {
	ctx := context.Background()
	_, p, err := s.Schedule(ctx)
	if err == nil {
		_, err = s.Run(ctx, p, RunSchedule)
	}
	if err != nil && !errors.Is(err, core.ErrConflict) {
		s.log.Error("audit purge: scheduled run", "err", err)
	}
}

func (s *PurgeService) setStatus(ctx context.Context, id int64, status string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE audit_purge_runs SET status = ?, updated_at = ? WHERE id = ?`,
			status, s.now().UnixNano(), id)
		return err
	})
}

// finish records a run's end.
func (s *PurgeService) finish(ctx context.Context, id int64, status string, purged int64, errText string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE audit_purge_runs SET status = ?, updated_at = ?, purged = ?, error = ?
			WHERE id = ?`, status, s.now().UnixNano(), purged, errText, id)
		return err
	})
}

// purgeArgs is the durable job of one run.
type purgeArgs struct {
	RunID int64 `json:"run_id"`
}

func (purgeArgs) Kind() string { return "audit_purge_run" }

type purgeWorker struct{ s *PurgeService }

// Timeout: a run takes as long as the log is long; Stop ends it.
func (w *purgeWorker) Timeout(*jobs.Job[purgeArgs]) time.Duration { return -1 }

func (w *purgeWorker) Work(ctx context.Context, job *jobs.Job[purgeArgs]) error {
	s := w.s
	r, err := s.Get(ctx, job.Args.RunID)
	if err != nil {
		return jobs.Cancel(err)
	}
	if r.Status != RunPending && r.Status != RunRunning {
		return nil // stopped before it started, or already done
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.cancel[r.ID] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.cancel, r.ID)
		s.mu.Unlock()
	}()
	if err := s.setStatus(ctx, r.ID, RunRunning); err != nil {
		return err
	}
	lg := &purgeLog{s: s, id: r.ID}
	lg.add(fmt.Sprintf("run %d (%s), attempt %d", r.ID, strings.ToLower(r.Kind), job.Attempt))
	// The cut-off is taken when the run starts: a run that starts again
	// after a crash keeps the same retention from its own start.
	cutoff := s.now().Add(-time.Duration(r.Params.RetentionHours) * time.Hour)
	actions := PurgeActions(r.Params.Operations)
	what := "every operation"
	if len(actions) > 0 {
		what = "actions " + strings.Join(actions, ", ")
	}
	lg.add(fmt.Sprintf("purging entries recorded before %s (%d hours kept), %s", cutoff.UTC().Format(time.RFC3339),
		r.Params.RetentionHours, what))
	n, err := s.store.purgeBatched(ctx, cutoff, actions, r.Params.DryRun, s.batch, func(action string, n, total int64) {
		if action == "" {
			action = "any action"
		}
		lg.add(fmt.Sprintf("deleted %d entries (%s); %d so far", n, action, total))
	})
	bg := context.WithoutCancel(ctx)
	status, errText := RunSuccess, ""
	switch {
	case err != nil && ctx.Err() != nil:
		status = RunStopped
		lg.add(fmt.Sprintf("stopped after purging %d entries", n))
	case err != nil:
		status, errText = RunError, err.Error()
		lg.add(fmt.Sprintf("failed after purging %d entries: %s", n, errText))
	case r.Params.DryRun:
		lg.add(fmt.Sprintf("dry run: %d entries would be purged; none was", n))
	default:
		lg.add(fmt.Sprintf("purged %d entries", n))
	}
	lg.flush(bg)
	if ferr := s.finish(bg, r.ID, status, n, errText); ferr != nil {
		return ferr
	}
	if status == RunError {
		return jobs.Cancel(err) // recorded; a new run is the retry
	}
	return nil
}

// maxPurgeLog bounds a run's stored log; the lines past it are counted.
const maxPurgeLog = 1 << 20

// purgeLog collects a run's lines and appends them to its record every
// second or so, so a run in progress shows how far it got.
type purgeLog struct {
	s       *PurgeService
	id      int64
	mu      sync.Mutex
	pending []string
	size    int
	dropped int
	flushed time.Time
}

func (l *purgeLog) add(line string) {
	l.mu.Lock()
	stamped := l.s.now().UTC().Format(time.RFC3339) + " " + line
	if l.size+len(stamped)+1 > maxPurgeLog {
		l.dropped++
	} else {
		l.pending = append(l.pending, stamped)
		l.size += len(stamped) + 1
	}
	due := time.Since(l.flushed) > time.Second
	l.mu.Unlock()
	if due {
		l.flush(context.Background())
	}
}

func (l *purgeLog) flush(ctx context.Context) {
	l.mu.Lock()
	lines := l.pending
	l.pending, l.flushed = nil, time.Now()
	if l.dropped > 0 {
		lines = append(lines, "... "+strconv.Itoa(l.dropped)+" more lines not kept")
		l.dropped = 0
	}
	l.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	err := l.s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE audit_purge_runs SET log = log || ? WHERE id = ?`,
			strings.Join(lines, "\n")+"\n", l.id)
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		l.s.log.Warn("audit purge: writing a run's log", "run", l.id, "err", err)
	}
}
