package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

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
	// maxAge, when set, bounds how long an engine is used without a
	// rebuild (setMaxAge); built is when the engine's load began, in Unix
	// nanoseconds.
	maxAge atomic.Int64
	built  atomic.Int64
}

// NewPolicy builds the engine on first use from what load returns.
func NewPolicy(load func(ctx context.Context) (rbac.Policy, error), opts ...rbac.Option) *Policy {
	p := &Policy{load: load, opts: opts}
	p.stale.Store(true)
	return p
}

// Invalidate makes the next Engine call rebuild.
func (p *Policy) Invalidate() { p.stale.Store(true) }

// setMaxAge makes Engine rebuild an engine older than d (0: only after
// Invalidate), for a database other processes change too: their changes
// do not call this process's Invalidate.
func (p *Policy) setMaxAge(d time.Duration) { p.maxAge.Store(int64(d)) }

func (p *Policy) tooOld() bool {
	d := p.maxAge.Load()
	return d > 0 && time.Now().UnixNano()-p.built.Load() > d
}

// Engine returns the current engine, rebuilding it if it is stale.
func (p *Policy) Engine(ctx context.Context) (*rbac.Engine, error) {
	// Fresh and built: the common case, lock-free. A first build in
	// progress elsewhere has cleared stale before storing the engine, so
	// a nil engine means waiting for it.
	e := p.engine.Load()
	current := e != nil && !p.stale.Load()
	if current && !p.tooOld() {
		return e, nil
	}
	if current {
		// Only older than the max age: one caller rebuilds, the others
		// go on with this engine meanwhile.
		if !p.mu.TryLock() {
			return e, nil
		}
	} else {
		p.mu.Lock()
	}
	defer p.mu.Unlock()
	if e := p.engine.Load(); e != nil && !p.stale.Load() && !p.tooOld() {
		return e, nil
	}
	// Clear first: a change during the load marks it stale again.
	p.stale.Store(false)
	start := time.Now()
	pol, err := p.load(ctx)
	if err == nil {
		var e *rbac.Engine
		if e, err = rbac.New(pol, p.opts...); err == nil {
			p.built.Store(start.UnixNano())
			p.engine.Store(e)
			return e, nil
		}
	}
	p.stale.Store(true)
	return nil, err
}
