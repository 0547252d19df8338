package auth

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/berthlabs/berth/rbac"
)

// Policy holds the current RBAC engine, rebuilt from the stores after any
// change: building it reads every project, member and robot, so it is done
// once per change, not per request.
type Policy struct {
	load   func(ctx context.Context) (rbac.Policy, error)
	opts   []rbac.Option
	mu     sync.Mutex // one rebuild at a time
	engine atomic.Pointer[rbac.Engine]
	stale  atomic.Bool
}

// NewPolicy builds the engine on first use from what load returns.
func NewPolicy(load func(ctx context.Context) (rbac.Policy, error), opts ...rbac.Option) *Policy {
	p := &Policy{load: load, opts: opts}
	p.stale.Store(true)
	return p
}

// Invalidate makes the next Engine call rebuild.
func (p *Policy) Invalidate() { p.stale.Store(true) }

// Engine returns the current engine, rebuilding it if it is stale.
func (p *Policy) Engine(ctx context.Context) (*rbac.Engine, error) {
	// Fresh and built: the common case, lock-free. A first build in
	// progress elsewhere has cleared stale before storing the engine, so
	// a nil engine means waiting for it.
	if e := p.engine.Load(); e != nil && !p.stale.Load() {
		return e, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.engine.Load(); e != nil && !p.stale.Load() {
		return e, nil
	}
	// Clear first: a change during the load marks it stale again.
	p.stale.Store(false)
	pol, err := p.load(ctx)
	if err == nil {
		var e *rbac.Engine
		if e, err = rbac.New(pol, p.opts...); err == nil {
			p.engine.Store(e)
			return e, nil
		}
	}
	p.stale.Store(true)
	return nil, err
}
