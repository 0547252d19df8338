package scan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/jobs"
)

// Job kinds, as stored in the job queue.
const (
	jobScan    = "scan.vulnerability"
	jobSBOM    = "scan.sbom"
	jobScanAll = "scan.all"
)

type scanArgs struct {
	Task int64 `json:"task"`
}

func (scanArgs) Kind() string { return jobScan }

type scanWorker struct {
	s *Service
}

func (w *scanWorker) Timeout(*jobs.Job[scanArgs]) time.Duration { return w.s.scanTimeout }

func (w *scanWorker) Work(ctx context.Context, job *jobs.Job[scanArgs]) error {
	return w.s.runScan(ctx, job.Args.Task, job.Attempt, job.MaxAttempts)
}

// ScanArtifact queues a vulnerability scan of an artifact with its
// project's scanner and returns the task. While a scan of the same digest
// in the same repository is pending or running, that task is returned
// instead, also to callers starting one at once in processes that share
// the database.
func (s *Service) ScanArtifact(ctx context.Context, a Artifact, trigger Trigger) (Task, error) {
	if err := s.requireQueue(); err != nil {
		return Task{}, err
	}
	if err := a.Digest.Validate(); err != nil {
		return Task{}, fmt.Errorf("%w: artifact digest %q: %v", ErrInvalid, a.Digest, err)
	}
	if IsIndex(a.MediaType) {
		return Task{}, fmt.Errorf("scan: %s@%s is an index; scan its image manifests (ScanImages): %w", a.Repository, a.Digest, ErrNotScannable)
	}
	if t, ok, err := s.st.latestTask(ctx, a.Digest.String(), KindVulnerability); err != nil {
		return Task{}, err
	} else if ok && !t.Status.Finished() && t.Artifact.Repository == a.Repository {
		return t, nil
	}
	reg, err := s.ProjectScanner(ctx, projectOf(a.Repository))
	if err != nil {
		return Task{}, err
	}
	t, created, err := s.st.startTask(ctx, Task{Kind: KindVulnerability, Artifact: a, Scanner: reg.ID, Trigger: trigger})
	if err != nil {
		return Task{}, err
	}
	if !created {
		return t, nil // another caller started one meanwhile
	}
	s.cache.invalidate(a.Digest.String())
	return s.enqueue(ctx, t, scanArgs{Task: t.ID}, jobs.EnqueueMaxAttempts(max(1, s.attempts)))
}

// enqueue puts a task's job in the queue and records its ID.
func (s *Service) enqueue(ctx context.Context, t Task, args jobs.Args, opts ...jobs.EnqueueOption) (Task, error) {
	id, err := s.queue.Enqueue(ctx, args, opts...)
	if err != nil {
		_, _ = s.st.transition(context.WithoutCancel(ctx), t.ID, StatusError, "could not queue: "+err.Error())
		return t, err
	}
	t.JobID = id
	return t, s.st.setJob(ctx, t.ID, id)
}

// StopScan stops the pending or running scan of an artifact digest and
// returns its task; ErrNotFound when none is in progress.
func (s *Service) StopScan(ctx context.Context, dg string) (Task, error) {
	return s.stop(ctx, dg, KindVulnerability)
}

func (s *Service) stop(ctx context.Context, dg string, kind TaskKind) (Task, error) {
	t, ok, err := s.st.latestTask(ctx, dg, kind)
	if err != nil {
		return t, err
	}
	if !ok || t.Status.Finished() {
		return t, fmt.Errorf("scan: no %s task in progress for %q: %w", kind, dg, ErrNotFound)
	}
	if _, err := s.st.transition(ctx, t.ID, StatusStopped, "stopped on request"); err != nil {
		return t, err
	}
	_ = s.st.appendLog(ctx, t.ID, "stopped on request")
	s.cache.invalidate(dg)
	if t.JobID != 0 && s.queue != nil {
		if _, err := s.queue.Cancel(ctx, t.JobID); err != nil && !errors.Is(err, jobs.ErrNotFound) {
			return t, err
		}
	}
	return s.st.task(ctx, t.ID)
}

// runScan is one attempt of a scan task.
func (s *Service) runScan(ctx context.Context, id int64, attempt, maxAttempts int) error {
	t, err := s.st.task(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return jobs.Cancel(err)
	}
	if err != nil {
		return err
	}
	if t.Status.Finished() {
		return nil // stopped before it ran
	}
	dg := t.Artifact.Digest.String()
	defer s.cache.invalidate(dg)
	if running, err := s.st.transition(ctx, id, StatusRunning, ""); err != nil || !running {
		return err // !running: stopped since it was read
	}
	logf := func(format string, args ...any) {
		if err := s.st.appendLog(context.WithoutCancel(ctx), id, format, args...); err != nil {
			s.log.WarnContext(ctx, "scan: writing task log", "task", id, "err", err)
		}
	}
	logf("attempt %d of %d: scanning %s@%s with scanner %s", attempt, maxAttempts, t.Artifact.Repository, dg, t.Scanner)
	report, reg, err := s.scanOnce(ctx, t)
	if err != nil {
		if cur, _ := s.st.task(context.WithoutCancel(ctx), id); cur.Status == StatusStopped {
			return jobs.Cancel(fmt.Errorf("stopped: %w", err))
		}
		logf("error: %v", err)
		if attempt < maxAttempts && !errors.Is(err, ErrNoScanner) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrNotScannable) {
			logf("will retry")
			_, _ = s.st.transition(context.WithoutCancel(ctx), id, StatusPending, fmt.Sprintf("attempt %d failed, will retry: %v", attempt, err))
			return err
		}
		_, _ = s.st.transition(context.WithoutCancel(ctx), id, StatusError, err.Error())
		return jobs.Cancel(err)
	}
	sum := Summarize(report.Vulnerabilities)
	logf("done: %d vulnerabilities (%d fixable), worst %s; scanner %s %s, database %s",
		sum.Total, sum.Fixable, sum.Severity, report.Scanner.Name, report.Scanner.Version, report.DBVersion)
	if err := s.st.putReport(ctx, reg.ID, report, id); err != nil {
		logf("error storing the report: %v", err)
		return err
	}
	s.cache.invalidate(dg)
	return nil
}

// scanOnce resolves the task's scanner and runs it.
func (s *Service) scanOnce(ctx context.Context, t Task) (*Report, Registration, error) {
	reg, err := s.registration(ctx, t.Scanner)
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("scanner %q is no longer registered: %w", t.Scanner, ErrNoScanner)
	}
	if err != nil {
		return nil, reg, err
	}
	sc, err := s.scannerFor(reg)
	if err != nil {
		return nil, reg, err
	}
	src, release, err := s.sourceFor(ctx, reg, t.Artifact)
	if err != nil {
		return nil, reg, err
	}
	if release != nil {
		defer release()
	}
	r, err := sc.Scan(ctx, Request{Artifact: t.Artifact, Source: src})
	if err != nil {
		return nil, reg, err
	}
	if r == nil {
		return nil, reg, errors.New("the scanner returned no report")
	}
	r.Artifact.Repository = t.Artifact.Repository
	r.Artifact.Digest = t.Artifact.Digest
	if r.Artifact.MediaType == "" {
		r.Artifact.MediaType = t.Artifact.MediaType
	}
	if r.GeneratedAt.IsZero() {
		r.GeneratedAt = s.now().UTC()
	}
	if r.DBVersion == "" {
		r.DBVersion = "unknown"
	}
	if r.Vulnerabilities == nil {
		r.Vulnerabilities = []Vulnerability{}
	}
	r.Severity = Worst(r.Vulnerabilities)
	return r, reg, nil
}

// digestOf converts a digest string known to be valid.
func digestOf(s string) digest.Digest { return digest.Digest(s) }
