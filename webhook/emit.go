package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/sqldb"
)

// Emit queues e for every enabled policy of e.ProjectID that subscribes
// to e.Type: one delivery per target, written to the delivery log as
// pending and enqueued as a durable job. It does no network I/O: a slow
// receiver never slows the caller. It is how the server reports events
// that are not the registry's (scans, quotas, replication, retention).
//
// e needs a known Type and a ProjectID; OccurAt defaults to now, and
// ProjectName and Public come from WithProjectLookup when ProjectName is
// empty. A delivery that was logged but could not be enqueued stays
// pending for Resume.
func (s *Service) Emit(ctx context.Context, e Event) error {
	if err := s.requireQueue(); err != nil {
		return err
	}
	e, err := s.prepare(ctx, e)
	if err != nil {
		return err
	}
	policies, err := s.subscribed(ctx, e.ProjectID, e.Type)
	if err != nil {
		return fmt.Errorf("webhook: reading the policies of project %d: %w", e.ProjectID, err)
	}
	if len(policies) == 0 {
		return nil
	}
	if e.ProjectName == "" && s.lookup != nil {
		if name, public, ok, err := s.lookup(ctx, e.ProjectID); err == nil && ok {
			e.ProjectName, e.Public = name, public
		}
	}
	_, err = s.queueDeliveries(ctx, e, policies, false)
	return err
}

// prepare checks e and fills its defaults.
func (s *Service) prepare(_ context.Context, e Event) (Event, error) {
	if !e.Type.Known() {
		return e, invalid("unknown event type %q", e.Type)
	}
	if e.ProjectID <= 0 {
		return e, invalid("a %s event needs a project id", e.Type)
	}
	if e.OccurAt.IsZero() {
		e.OccurAt = s.now()
	}
	return e, nil
}

// Sink returns the registry event sink: pushes, pulls and deletions of
// manifests (FromRegistryEvent) go to Emit, in the project the
// repository's first path component names (WithProjects). Events of
// projects without subscribed policies cost one indexed read. Failures
// are logged; the request's cancellation does not cut the write short
// (the change has happened).
func (s *Service) Sink() core.EventSink { return core.EventSinkFunc(s.emitRegistry) }

func (s *Service) emitRegistry(ctx context.Context, re core.Event) {
	e, ok := FromRegistryEvent(re)
	if !ok || s.projects == nil || s.queue == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if any, err := s.anyEnabled(ctx); err != nil || !any {
		if err != nil {
			s.log.WarnContext(ctx, "webhook: reading policies", "err", err)
		}
		return
	}
	id, ok, err := s.projects.ProjectID(ctx, e.ProjectName)
	if err != nil {
		s.log.WarnContext(ctx, "webhook: resolving the project of an event", "repository", e.Repository, "err", err)
		return
	}
	if !ok {
		return
	}
	e.ProjectID = id
	if e, err = s.prepare(ctx, e); err != nil {
		return
	}
	policies, err := s.subscribed(ctx, id, e.Type)
	if err != nil {
		s.log.WarnContext(ctx, "webhook: reading policies", "project", id, "err", err)
		return
	}
	if len(policies) == 0 {
		return
	}
	if pub, ok := s.projects.(publicity); ok {
		if _, public, err := pub.Public(ctx, e.ProjectName); err == nil {
			e.Public = public
		}
	}
	if _, err := s.queueDeliveries(ctx, e, policies, false); err != nil {
		s.log.WarnContext(ctx, "webhook: queueing deliveries", "event", e.Type, "repository", e.Repository, "err", err)
	}
}

// SendTest queues a test event to every target of policy policyID,
// enabled or not, delivered like any other (signed, retried, logged with
// Test set); it returns once the deliveries are queued, not sent: their
// outcome is in Deliveries. The event is a PUSH_ARTIFACT of
// "<project>/webhook-test:test" by the caller (core.ActorFrom), with
// custom_attributes {"test": "true"}.
func (s *Service) SendTest(ctx context.Context, projectID, policyID int64) error {
	if err := s.requireQueue(); err != nil {
		return err
	}
	p, err := s.Get(ctx, projectID, policyID)
	if err != nil {
		return err
	}
	e := testEvent(projectID, core.ActorFrom(ctx), s.now())
	if s.lookup != nil {
		if name, public, ok, err := s.lookup(ctx, projectID); err == nil && ok {
			e.ProjectName, e.Public, e.Repository = name, public, name+"/"+e.Repository
		}
	}
	_, err = s.queueDeliveries(ctx, e, []Policy{p}, true)
	return err
}

func testEvent(projectID int64, actor string, now time.Time) Event {
	if actor == "" {
		actor = core.SystemActor("webhook test")
	}
	sum := sha256.Sum256([]byte("berth webhook test"))
	return Event{
		Type:       PushArtifact,
		ProjectID:  projectID,
		Repository: "webhook-test",
		Digest:     "sha256:" + hex.EncodeToString(sum[:]),
		Tags:       []string{"test"},
		MediaType:  "application/vnd.oci.image.manifest.v1+json",
		Operator:   actor,
		OccurAt:    now,
		Custom:     map[string]string{"test": "true"},
	}
}

// jobAttempts bounds the runs of one delivery job that fail for reasons
// of berth's own (the database); the receiver's failures are counted by
// the delivery (WithMaxAttempts), each attempt its own job.
const jobAttempts = 5

// queueDeliveries logs one delivery per target of policies and enqueues
// them; it returns the deliveries' ids.
func (s *Service) queueDeliveries(ctx context.Context, e Event, policies []Policy, test bool) ([]int64, error) {
	type row struct {
		uuid, address, ct string
		format            PayloadFormat
		policy            int64
		body              []byte
	}
	var rows []row
	for _, p := range policies {
		for _, t := range p.Targets {
			id := newUUID()
			body, ct, err := render(t.PayloadFormat, e, s.host, id, p.ID)
			if err != nil {
				return nil, err
			}
			rows = append(rows, row{uuid: id, address: t.Address, ct: ct, format: t.PayloadFormat, policy: p.ID, body: body})
		}
	}
	ids := make([]int64, len(rows))
	now := ms(s.now())
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		for i, r := range rows {
			if err := tx.QueryRow(ctx, `INSERT INTO webhook_deliveries (uuid, project_id, policy_id, event_type,
				address, format, content_type, body, test, status, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				r.uuid, e.ProjectID, r.policy, string(e.Type), r.address, string(r.format), r.ct, string(r.body),
				test, string(StatusPending), now, now).Scan(&ids[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: logging %d deliveries: %w", len(rows), err)
	}
	var errs []error
	for _, id := range ids {
		if err := s.enqueue(ctx, id, 1, time.Time{}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return ids, fmt.Errorf("webhook: %d of %d deliveries logged but not queued (Resume queues them): %w",
			len(errs), len(ids), errors.Join(errs...))
	}
	return ids, nil
}

// enqueue queues attempt n of delivery id, to run no earlier than at.
func (s *Service) enqueue(ctx context.Context, id int64, n int, at time.Time) error {
	opts := []jobs.EnqueueOption{jobs.UniqueByArgs(), jobs.EnqueueMaxAttempts(jobAttempts)}
	if at.After(s.now()) {
		opts = append(opts, jobs.At(at))
	}
	_, err := s.queue.Enqueue(ctx, deliveryArgs{Delivery: id, Attempt: n}, opts...)
	return err
}

// resumeBatch bounds one Resume read.
const resumeBatch = 500

// Resume queues again every pending delivery, at its next attempt's
// time, and reports how many it looked at. Deliveries whose job is
// queued already are not queued twice. Call it once the job runner has
// started, after a crash, or when Emit reported deliveries logged but not
// queued; it is never needed for deliveries Emit queued.
func (s *Service) Resume(ctx context.Context) (int, error) {
	if err := s.requireQueue(); err != nil {
		return 0, err
	}
	var after int64
	n := 0
	for {
		rows, err := s.db.Query(ctx, `SELECT id, attempts, next_attempt_at FROM webhook_deliveries
			WHERE status = ? AND id > ? ORDER BY id LIMIT ?`, string(StatusPending), after, resumeBatch)
		if err != nil {
			return n, fmt.Errorf("webhook: resume: %w", err)
		}
		type pending struct {
			id       int64
			attempts int
			next     int64
		}
		var batch []pending
		for rows.Next() {
			var p pending
			if err := rows.Scan(&p.id, &p.attempts, &p.next); err != nil {
				rows.Close()
				return n, fmt.Errorf("webhook: resume: %w", err)
			}
			batch = append(batch, p)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return n, fmt.Errorf("webhook: resume: %w", err)
		}
		for _, p := range batch {
			if err := s.enqueue(ctx, p.id, p.attempts+1, fromMS(p.next)); err != nil {
				return n, fmt.Errorf("webhook: resume delivery %d: %w", p.id, err)
			}
			n++
			after = p.id
		}
		if len(batch) < resumeBatch {
			return n, nil
		}
	}
}
