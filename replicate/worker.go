package replicate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/registry"
)

// ExecutionArgs is the durable job of one execution. Nonce tells apart the
// jobs a resumed execution is given.
type ExecutionArgs struct {
	ExecutionID int64 `json:"execution_id"`
	Nonce       int64 `json:"nonce,omitempty"`
}

// Kind names the job kind.
func (ExecutionArgs) Kind() string { return "replication_execution" }

// maxTasks bounds the tasks of one execution.
const maxTasks = 100_000

type worker struct {
	s *Service
}

// Timeout: an execution runs as long as its copies take.
func (w *worker) Timeout(*jobs.Job[ExecutionArgs]) time.Duration { return -1 }

func (w *worker) Work(ctx context.Context, job *jobs.Job[ExecutionArgs]) error {
	return w.s.work(ctx, job.Args.ExecutionID)
}

// work runs (or resumes) an execution: lists its tasks once, then runs
// the tasks not done. It returns an error only when the job should run
// again (the process is stopping, the database failed).
func (s *Service) work(ctx context.Context, id int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	if _, busy := s.running[id]; busy {
		s.mu.Unlock()
		return nil // another job of this process works on it
	}
	s.running[id] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
	}()

	e, err := s.st.execution(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if e.Status.terminal() {
		return nil
	}
	fail := func(msg string, err error) error {
		s.log.Warn("replication: execution failed", "execution", id, "err", err)
		return s.st.finishExecution(context.WithoutCancel(ctx), id, StatusFailed, msg+": "+err.Error())
	}
	p, err := s.st.policy(ctx, e.PolicyID)
	if err != nil {
		return fail("reading the policy", err)
	}
	// Whatever the execution reads or writes in the local registry is
	// audited as the system working for this policy and execution.
	ctx = registry.WithActor(ctx, registry.SystemActor(fmt.Sprintf("replication policy %q (%d), execution %d", p.Name, p.ID, id)))
	remote, err := s.st.endpoint(ctx, p.RemoteID, true)
	if err != nil {
		return fail("reading the endpoint", err)
	}
	src, dst := s.local, remote
	if p.Mode == Pull {
		src, dst = remote, s.local
	}
	opts := append([]CopyOption{WithBandwidth(p.Speed), WithSessionStore(&sqlSessions{db: s.st.db, now: s.st.now})}, s.copts...)
	if p.Mode != Pull && s.labels != nil {
		opts = append(opts, WithSourceLabels(s.labels)) // the source is the local registry
	}
	cp, err := NewCopier(src, dst, opts...)
	if err != nil {
		return fail("connecting", err)
	}
	if !e.listed {
		if SelectsCharts(p.Filters) && s.local.ChartTransport == nil {
			return fail("listing the source", errors.New("the policy selects charts and this server serves no chart repositories"))
		}
		items, err := s.items(ctx, cp, p, e)
		if err != nil {
			if ctx.Err() != nil {
				return s.interrupted(ctx, id)
			}
			return fail("listing the source", err)
		}
		if len(items) > maxTasks {
			return fail("listing the source", fmt.Errorf("%d artifacts selected, more than %d", len(items), maxTasks))
		}
		if err := s.st.addTasks(ctx, id, items); err != nil {
			return err
		}
	}
	tasks, _, err := s.st.tasks(ctx, id, 0, maxTasks)
	if err != nil {
		return err
	}
	conc := p.Concurrency
	if conc == 0 {
		conc = DefaultConcurrency
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, t := range tasks {
		if t.Status.terminal() {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.runTask(ctx, cp, p, t)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return s.interrupted(ctx, id)
	}
	e, err = s.st.execution(ctx, id)
	if err != nil {
		return err
	}
	st, text := StatusSucceed, fmt.Sprintf("%d of %d tasks succeeded", e.Succeed, e.Total)
	if e.Failed > 0 {
		st = StatusFailed
	}
	return s.st.finishExecution(ctx, id, st, text)
}

// interrupted ends a work call whose context ended: nothing to do if the
// execution was stopped; otherwise the process is stopping and the job
// must run again.
func (s *Service) interrupted(ctx context.Context, id int64) error {
	e, err := s.st.execution(context.WithoutCancel(ctx), id)
	if err == nil && e.Status.terminal() {
		return nil
	}
	return fmt.Errorf("execution %d interrupted: %w", id, ctx.Err())
}

// items are the tasks of an execution: what its event asked for, or what
// the policy selects at the source.
func (s *Service) items(ctx context.Context, cp *Copier, p *Policy, e *execRow) ([]item, error) {
	if e.request == "" {
		return cp.plan(ctx, p)
	}
	req, err := decodeItems(e.request)
	if err != nil {
		return nil, err
	}
	var out []item
	for _, it := range req {
		if it.Op == OpCopy && NeedsManifest(p.Filters) && it.Digest != "" {
			ok, err := cp.matchArtifact(ctx, p.Filters, it.SrcRepo, digest.Digest(it.Digest))
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		out = append(out, it)
	}
	return out, nil
}

// runTask runs one task, retrying with exponential backoff.
func (s *Service) runTask(ctx context.Context, cp *Copier, p *Policy, t taskRow) {
	logf := func(format string, args ...any) {
		line := time.Now().UTC().Format(time.RFC3339) + " " + fmt.Sprintf(format, args...) + "\n"
		if err := s.st.appendLog(context.WithoutCancel(ctx), t.ID, line); err != nil {
			s.log.Warn("replication: task log", "task", t.ID, "err", err)
		}
	}
	var total int64
	for attempt := 1; ; attempt++ {
		if err := s.st.startTask(ctx, t.ID); err != nil {
			return
		}
		logf("%s %s → %s (attempt %d)", t.item.Op, t.SrcResource, t.DstResource, t.Attempts+attempt)
		res, err := s.doTask(ctx, cp, p, t.item, logf)
		total += res.Bytes
		if err == nil {
			logf("done: %d bytes, %d blobs copied, %d mounted, %d already there, %d manifests, %d referrers",
				res.Bytes, res.BlobsCopied, res.BlobsMounted, res.BlobsSkipped, res.Manifests, res.Referrers)
			_ = s.st.finishTask(context.WithoutCancel(ctx), t.ID, StatusSucceed, total)
			return
		}
		logf("error: %v", err)
		if ctx.Err() != nil {
			_ = s.st.finishTask(context.WithoutCancel(ctx), t.ID, StatusInProgress, total)
			return
		}
		if status := refusedForGood(err); attempt > s.retries || status != 0 {
			if status != 0 {
				logf("not retried: the registry refused the request with HTTP %d (a policy such as an immutable tag or a quota, or a bad request)", status)
			}
			_ = s.st.finishTask(ctx, t.ID, StatusFailed, total)
			return
		}
		total = 0
		_ = s.st.finishTask(ctx, t.ID, StatusInProgress, res.Bytes)
		wait := min(s.backoff<<(attempt-1), time.Minute)
		var se *statusError
		if errors.As(err, &se) && se.retryAfter > wait {
			wait = min(se.retryAfter, 5*time.Minute)
		}
		logf("retrying in %s", wait)
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

func (s *Service) doTask(ctx context.Context, cp *Copier, p *Policy, it item, logf func(string, ...any)) (Result, error) {
	switch {
	case it.Kind == ResourceChart && it.Op == OpCopy:
		return cp.copyChart(ctx, logf, it, p.Override)
	case it.Kind != "":
		return Result{}, fmt.Errorf("%w: %s of a %s", ErrInvalid, it.Op, it.Kind)
	case it.Op == OpDelete:
		ref := it.Digest
		if len(it.Tags) > 0 {
			ref = it.Tags[0]
		}
		return Result{}, cp.remove(ctx, logf, it.DstRepo, ref)
	case it.Op == OpCopy && it.Referrers:
		return cp.syncReferrers(ctx, logf, it.SrcRepo, digest.Digest(it.Digest), it.DstRepo)
	case it.Op == OpCopy:
		ref := it.Digest
		if ref == "" && len(it.Tags) > 0 {
			ref = it.Tags[0]
		}
		return cp.copyWith(ctx, logf, it.SrcRepo, ref, it.DstRepo, it.Tags, p.Override)
	}
	return Result{}, fmt.Errorf("unknown operation %q", it.Op)
}

// refusedForGood returns the status of a registry's refusal that asking
// again will not change, else 0: a 4xx answer other than 408 and 429 (an
// immutable tag's 412, a quota's 403, a manifest the source no longer
// has). Retrying those only delays the failure the log must show.
func refusedForGood(err error) int {
	status := 0
	var se *statusError
	var te *transport.Error
	switch {
	case errors.As(err, &se):
		status = se.status
	case errors.As(err, &te):
		status = te.StatusCode
	}
	if status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
		return status
	}
	return 0
}
