package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/maintenance"
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

// PurgeResult is what a purge run did.
type PurgeResult struct {
	// Purged is how many entries the run deleted, or in a dry run would
	// delete; while it runs, its log tells how far it got.
	Purged int64 `json:"purged"`
}

// PurgeRun is one audit log purge run.
type PurgeRun = maintenance.Run[PurgeParams, PurgeResult]

// PurgeService schedules, runs and records audit log purges: the
// maintenance task "audit_purge" (one run at a time, as durable jobs; a
// run cut off by a crash runs again from the start, which purges what the
// cut-off run had not). Its methods (Run, Stop, Get, History, Log,
// Schedule, SetSchedule, Register, Start, Close) are the
// maintenance.Service's; Run and SetSchedule check the parameters.
type PurgeService struct {
	*maintenance.Service[PurgeParams, PurgeResult]
	store *Store
	now   func() time.Time
	batch int
}

type purgeConfig struct {
	maint []maintenance.Option
	now   func() time.Time
	batch int
}

// PurgeOption configures a PurgeService.
type PurgeOption func(*purgeConfig)

// WithPurgeLogger sets the logger (default slog.Default()).
func WithPurgeLogger(l *slog.Logger) PurgeOption {
	return func(c *purgeConfig) { c.maint = append(c.maint, maintenance.WithLogger(l)) }
}

// WithPurgeClock sets the time source of run records and of the cut-off
// time each run computes from its retention.
func WithPurgeClock(now func() time.Time) PurgeOption {
	return func(c *purgeConfig) { c.now = now; c.maint = append(c.maint, maintenance.WithClock(now)) }
}

// WithPurgeBatch sets how many entries each purge transaction deletes at
// most (default 5,000).
func WithPurgeBatch(n int) PurgeOption { return func(c *purgeConfig) { c.batch = n } }

// NewPurgeService applies the maintenance migrations to the store's
// database and returns a service that purges store, running on queue (a
// *jobs.Runner).
func NewPurgeService(ctx context.Context, store *Store, queue maintenance.Queue, opts ...PurgeOption) (*PurgeService, error) {
	if store == nil || queue == nil {
		return nil, errors.New("audit purge: a store and a job queue are required")
	}
	c := purgeConfig{now: time.Now, batch: purgeChunk}
	for _, o := range opts {
		o(&c)
	}
	s := &PurgeService{store: store, now: c.now, batch: c.batch}
	svc, err := maintenance.New(ctx, store.db, queue, maintenance.Task[PurgeParams, PurgeResult]{
		Name:  "audit_purge",
		Title: "audit log purge",
		Check: PurgeParams.normalized,
		Run:   s.purge,
	}, c.maint...)
	if err != nil {
		return nil, fmt.Errorf("audit purge: %w", err)
	}
	s.Service = svc
	return s, nil
}

// purge is one run's work. The cut-off is taken when the run starts: a
// run that starts again after a crash keeps the same retention from its
// new start.
func (s *PurgeService) purge(ctx context.Context, p PurgeParams, log func(string, ...any)) (PurgeResult, error) {
	cutoff := s.now().Add(-time.Duration(p.RetentionHours) * time.Hour)
	actions := PurgeActions(p.Operations)
	what := "every operation"
	if len(actions) > 0 {
		what = "actions " + strings.Join(actions, ", ")
	}
	log("purging entries recorded before %s (%d hours kept), %s", cutoff.UTC().Format(time.RFC3339), p.RetentionHours, what)
	n, err := s.store.purgeBatched(ctx, cutoff, actions, p.DryRun, s.batch, func(action string, n, total int64) {
		if action == "" {
			action = "any action"
		}
		log("deleted %d entries (%s); %d so far", n, action, total)
	})
	switch {
	case err != nil && !p.DryRun:
		log("%d entries purged before it ended", n)
	case err != nil:
	case p.DryRun:
		log("dry run: %d entries would be purged; none was", n)
	default:
		log("purged %d entries", n)
	}
	return PurgeResult{Purged: n}, err
}
