package replicate

import (
	"context"
	"fmt"
	"time"
)

func (s *Service) schedule(p *Policy) error {
	s.unschedule(p.ID)
	if !p.Enabled || p.Trigger != TriggerScheduled {
		return nil
	}
	id := p.ID
	entry, err := s.cron.AddFunc(p.Cron, func() { s.fire(id) })
	if err != nil {
		return fmt.Errorf("%w: cron %q: %v", ErrInvalid, p.Cron, err)
	}
	s.cronMu.Lock()
	s.entries[id] = entry
	s.cronMu.Unlock()
	return nil
}

func (s *Service) unschedule(id int64) {
	s.cronMu.Lock()
	entry, ok := s.entries[id]
	delete(s.entries, id)
	s.cronMu.Unlock()
	if ok {
		s.cron.Remove(entry)
	}
}

// fire starts a scheduled execution unless the previous one still runs.
func (s *Service) fire(policyID int64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	busy, _, err := s.st.executions(ctx, policyID, StatusInProgress, 0, 1)
	if err == nil && len(busy) > 0 {
		s.log.Info("replication: previous scheduled execution still running; skipping this one", "policy", policyID)
		return
	}
	if _, err := s.StartExecution(ctx, policyID, TriggerScheduled); err != nil {
		s.log.Warn("replication: scheduled execution", "policy", policyID, "err", err)
	}
}

// NextRun reports when a scheduled policy fires next (zero if it is not
// scheduled).
func (s *Service) NextRun(policyID int64) time.Time {
	s.cronMu.Lock()
	entry, ok := s.entries[policyID]
	s.cronMu.Unlock()
	if !ok {
		return time.Time{}
	}
	return s.cron.Entry(entry).Next
}
