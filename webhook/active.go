package webhook

import (
	"context"
	"sync"
	"time"
)

// activeTTL bounds how long another process's first policy may go
// unnoticed by this one's sink; changes made here are seen at once.
const activeTTL = 5 * time.Second

// activeCache remembers whether any enabled policy exists, so that the
// sink of a server with no webhooks costs no query per pull.
type activeCache struct {
	mu     sync.Mutex
	any    bool
	loaded time.Time
}

// anyEnabled reports whether some project has an enabled policy.
func (s *Service) anyEnabled(ctx context.Context) (bool, error) {
	c := &s.active
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded.IsZero() && time.Since(c.loaded) < activeTTL {
		return c.any, nil
	}
	var any bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_policies WHERE enabled = ?)`, true).Scan(&any); err != nil {
		return false, err
	}
	c.any, c.loaded = any, time.Now()
	return any, nil
}

// policiesChanged makes the next event read the policies again.
func (s *Service) policiesChanged() {
	s.active.mu.Lock()
	s.active.loaded = time.Time{}
	s.active.mu.Unlock()
}
