package webhook

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/berthlabs/berth/jobs"
)

// deliveryArgs is the durable job of one attempt of one delivery. Each
// attempt is a job of its own, scheduled after the backoff of the one
// before, so the wait is the Service's (WithBackoff), not the runner's.
type deliveryArgs struct {
	Delivery int64 `json:"delivery"`
	Attempt  int   `json:"attempt"`
}

// JobKind is the kind of the delivery jobs in the job queue.
const JobKind = "webhook.delivery"

func (deliveryArgs) Kind() string { return JobKind }

type worker struct{ s *Service }

// Timeout bounds a job past the HTTP timeout, leaving room for the
// database.
func (w *worker) Timeout(*jobs.Job[deliveryArgs]) time.Duration {
	return 2*w.s.timeout + 30*time.Second
}

func (w *worker) Work(ctx context.Context, job *jobs.Job[deliveryArgs]) error {
	return w.s.attempt(ctx, job.Args.Delivery, job.Args.Attempt)
}

// userAgent is sent with every delivery.
const userAgent = "berth-webhook/1"

// attempt makes attempt n of delivery id. It returns an error only when
// the job should run again because berth itself failed (the database, the
// queue) or is stopping; the receiver's failures are recorded and retried
// as a new job.
func (s *Service) attempt(ctx context.Context, id int64, n int) error {
	d, err := s.deliveryForSend(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // its policy or project was deleted
	}
	if err != nil {
		return err
	}
	if d.Status != StatusPending {
		return nil
	}
	if n <= d.Attempts {
		// Attempt n was made and recorded, but its successor was not
		// queued (the queue failed, or the process stopped in between).
		return s.enqueue(ctx, id, d.Attempts+1, d.NextAttemptAt)
	}
	p, err := s.policyWithSecret(ctx, d.ProjectID, d.PolicyID)
	if errors.Is(err, ErrNotFound) {
		return s.drop(ctx, id, "the policy was deleted")
	}
	if err != nil {
		return err
	}
	if !p.Enabled && !d.Test {
		return s.drop(ctx, id, "the policy was disabled")
	}
	var target *Target
	for i := range p.Targets {
		if p.Targets[i].Address == d.Address {
			target = &p.Targets[i]
		}
	}
	if target == nil {
		return s.drop(ctx, id, "the target was removed from the policy")
	}

	status, sendErr := s.send(ctx, d, p.Secret, *target)
	if sendErr != nil && ctx.Err() != nil {
		// Stopping (or the job's own timeout): not the receiver's
		// failure. The runner hands the job back.
		return ctx.Err()
	}
	ctx = context.WithoutCancel(ctx)
	var (
		outcome = StatusSuccess
		errText string
		next    time.Time
	)
	if sendErr != nil {
		errText = sendErr.Error()
		outcome = StatusFailed
		if n < s.maxAttempts {
			outcome = StatusPending
			next = s.now().Add(max(s.backoff(n), 0))
		}
	}
	recorded, err := s.record(ctx, id, n, outcome, status, errText, next)
	if err != nil || !recorded || outcome == StatusSuccess {
		return err
	}
	if outcome == StatusFailed {
		s.log.WarnContext(ctx, "webhook: delivery failed, giving up", "delivery", id, "project", d.ProjectID,
			"policy", d.PolicyID, "attempts", n, "err", errText)
		return nil
	}
	s.log.InfoContext(ctx, "webhook: delivery failed, will retry", "delivery", id, "attempt", n,
		"of", s.maxAttempts, "err", errText, "next", next)
	return s.enqueue(ctx, id, n+1, next)
}

// maxResponseRead bounds how much of a response is read (and
// discarded), so the connection can be reused.
const maxResponseRead = 64 << 10

// send POSTs the delivery's body to t and returns the HTTP status.
func (s *Service) send(ctx context.Context, d stored, secret string, t Target) (int, error) {
	addr, err := ParseAddress(d.Address)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr, bytes.NewReader(d.body))
	if err != nil {
		return 0, fmt.Errorf("building the request: %w", unwrapURL(err))
	}
	req.Header.Set("Content-Type", d.contentType)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderSignature, Sign([]byte(secret), d.body))
	req.Header.Set(HeaderDelivery, d.UUID)
	req.Header.Set(HeaderEvent, string(d.EventType))
	if t.AuthHeader != "" {
		req.Header.Set("Authorization", t.AuthHeader)
	}
	client := s.client
	if t.SkipCertVerify {
		client = s.insecure
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, fmt.Errorf("no answer within %s", s.timeout)
		}
		return 0, unwrapURL(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return code, nil
	case code >= 300 && code < 400:
		return code, fmt.Errorf("the receiver answered %d %s; redirects are not followed", code, http.StatusText(code))
	}
	return code, fmt.Errorf("the receiver answered %d %s", code, http.StatusText(code))
}

// unwrapURL drops the URL from a client error: it may hold a token.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
