package auth

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/sqldb"
)

// With a max age the engine is rebuilt once it is older; meanwhile a
// rebuild in progress holds up nobody: the others use the old engine.
func TestPolicyMaxAge(t *testing.T) {
	ctx := t.Context()
	var loads atomic.Int32
	block := make(chan struct{})
	var blocking atomic.Bool
	p := NewPolicy(func(context.Context) (rbac.Policy, error) {
		loads.Add(1)
		if blocking.Load() {
			<-block
		}
		return rbac.Policy{}, nil
	})
	p.setMaxAge(50 * time.Millisecond)
	first, err := p.Engine(ctx)
	require.NoError(t, err)
	_, err = p.Engine(ctx)
	require.NoError(t, err)
	assert.Equal(t, int32(1), loads.Load())

	time.Sleep(60 * time.Millisecond)
	blocking.Store(true)
	rebuilt := make(chan *rbac.Engine)
	go func() {
		e, _ := p.Engine(ctx)
		rebuilt <- e
	}()
	require.Eventually(t, func() bool { return loads.Load() == 2 }, 5*time.Second, time.Millisecond)
	e, err := p.Engine(ctx)
	require.NoError(t, err)
	assert.Same(t, first, e, "the old engine while the rebuild runs")
	close(block)
	assert.NotSame(t, first, <-rebuilt)
	assert.Equal(t, int32(2), loads.Load())

	p.Invalidate() // still rebuilds at once
	_, err = p.Engine(ctx)
	require.NoError(t, err)
	assert.Equal(t, int32(3), loads.Load())
}

// On a database other processes share, cached logins and the policy go
// stale within sharedStaleness; on SQLite they are exact (Invalidate).
func TestGatekeeperStalenessOnASharedDatabase(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		p := NewPolicy(func(context.Context) (rbac.Policy, error) { return rbac.Policy{}, nil })
		g := NewGatekeeper(&Users{db: db}, &Robots{db: db}, nil, p, nil, "")
		if db.Exclusive() {
			assert.Equal(t, credentialTTL, g.cache.ttl)
			assert.Zero(t, p.maxAge.Load())
		} else {
			assert.Equal(t, sharedStaleness, g.cache.ttl)
			assert.Equal(t, int64(sharedStaleness), p.maxAge.Load())
		}
	})
}
