package replicate

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// scheduled is a policy this process's cron fires, and on which
// expression.
type scheduled struct {
	entry cron.EntryID
	cron  string
}

// defaultResync is how often a process sharing its database (PostgreSQL)
// reads the scheduled policies again, to run the schedules that other
// processes created or changed.
const defaultResync = time.Minute

func (s *Service) schedule(p *Policy) error {
	s.cronMu.Lock()
	defer s.cronMu.Unlock()
	return s.scheduleLocked(p)
}

func (s *Service) scheduleLocked(p *Policy) error {
	s.gen++
	s.unscheduleLocked(p.ID)
	if !p.Enabled || p.Trigger != TriggerScheduled {
		return nil
	}
	spec, err := cronParser.Parse(p.Cron)
	if err != nil {
		return fmt.Errorf("%w: cron %q: %v", ErrInvalid, p.Cron, err)
	}
	id, expr := p.ID, p.Cron
	entry := s.cron.Schedule(spec, cron.FuncJob(func() { s.fire(id, expr, spec) }))
	s.entries[id] = scheduled{entry: entry, cron: expr}
	return nil
}

func (s *Service) unschedule(id int64) {
	s.cronMu.Lock()
	defer s.cronMu.Unlock()
	s.gen++
	s.unscheduleLocked(id)
}

func (s *Service) unscheduleLocked(id int64) {
	if e, ok := s.entries[id]; ok {
		delete(s.entries, id)
		s.cron.Remove(e.entry)
	}
}

// resync makes this process's schedules the stored ones: at Start, and
// every resyncEvery while the database is shared, for the policies other
// processes created, changed or deleted. A schedule changed here while it
// read keeps the change (the next resync looks again).
func (s *Service) resync(ctx context.Context) error {
	s.cronMu.Lock()
	gen := s.gen
	s.cronMu.Unlock()
	ps, _, err := s.st.policies(ctx, "", 0, 1<<30)
	if err != nil {
		return err
	}
	s.cronMu.Lock()
	defer s.cronMu.Unlock()
	if s.gen != gen {
		return nil
	}
	stored := map[int64]bool{}
	for i := range ps {
		p := &ps[i]
		stored[p.ID] = true
		e, ok := s.entries[p.ID]
		if ok == (p.Enabled && p.Trigger == TriggerScheduled) && (!ok || e.cron == p.Cron) {
			continue // as scheduled
		}
		if err := s.scheduleLocked(p); err != nil {
			s.log.Warn("replication: cannot schedule policy", "policy", p.Name, "err", err)
		}
	}
	for id := range s.entries {
		if !stored[id] {
			s.unscheduleLocked(id)
		}
	}
	return nil
}

// resyncLoop runs resync every resyncEvery until the service stops.
func (s *Service) resyncLoop() {
	t := time.NewTicker(s.resyncEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := s.resync(ctx); err != nil {
				s.log.Warn("replication: reading the scheduled policies", "err", err)
			}
			cancel()
		}
	}
}

// fire starts the execution of a tick of policyID's schedule expr (spec
// parsed), unless another process claimed the tick, the stored policy is
// no longer on expr, or its previous execution still runs.
func (s *Service) fire(policyID int64, expr string, spec cron.Schedule) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, why, err := s.st.claimTick(ctx, policyID, expr, lastTick(spec, time.Now().UTC()))
	switch {
	case err != nil:
		s.log.Warn("replication: scheduled execution", "policy", policyID, "err", err)
	case id == 0 && why == whyBusy:
		s.log.Info("replication: previous scheduled execution still running; skipping this one", "policy", policyID)
	case id == 0:
		s.log.Debug("replication: scheduled execution not started", "policy", policyID, "why", why)
	default:
		if err := s.launch(ctx, id); err != nil {
			s.log.Warn("replication: scheduled execution", "policy", policyID, "err", err)
		}
	}
}

// lastTick is the latest time at or before now that spec names (a cron
// fires at or just after it), so that the processes firing one tick name
// it alike; now, to the second, if spec named none in the last minute.
func lastTick(spec cron.Schedule, now time.Time) time.Time {
	t := spec.Next(now.Add(-time.Minute))
	if t.IsZero() || t.After(now) {
		return now.Truncate(time.Second)
	}
	for n := spec.Next(t); !n.IsZero() && !n.After(now); n = spec.Next(n) {
		t = n
	}
	return t
}

// NextRun reports when a scheduled policy fires next (zero if it is not
// scheduled). With a shared database, a schedule another process changed
// shows here after the next resync (a minute at most).
func (s *Service) NextRun(policyID int64) time.Time {
	s.cronMu.Lock()
	e, ok := s.entries[policyID]
	s.cronMu.Unlock()
	if !ok {
		return time.Time{}
	}
	return s.cron.Entry(e.entry).Next
}
