package api_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/replicate"
)

// slowRegistries lists n registries; odd ids are unhealthy. A health
// check waits (up to a second) until page checks are in flight at once,
// and says whether they were.
type slowRegistries struct {
	api.Replicator // nil: only what the listing needs is implemented
	n              int
	page           int
	inFlight       *atomic.Int32
	allAtOnce      *atomic.Bool
}

func (s slowRegistries) Endpoints(_ context.Context, _ string, page core.Page) ([]replicate.Endpoint, int, error) {
	var out []replicate.Endpoint
	for i := page.Offset; i < s.n && len(out) < page.Limit; i++ {
		out = append(out, replicate.Endpoint{ID: int64(i + 1), Name: "r", URL: "http://127.0.0.1:1"})
	}
	return out, s.n, nil
}

func (s slowRegistries) PingEndpoint(ctx context.Context, e replicate.Endpoint) error {
	s.inFlight.Add(1)
	deadline := time.Now().Add(time.Second)
	for s.inFlight.Load() < int32(s.page) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.inFlight.Load() >= int32(s.page) {
		s.allAtOnce.Store(true)
	}
	if e.ID%2 == 1 {
		return replicate.ErrInvalid
	}
	return nil
}

// health=true checks the page's registries at once, and only the page's.
func TestRegistryHealthChecksConcurrently(t *testing.T) {
	reg := slowRegistries{n: 40, page: 10, inFlight: &atomic.Int32{}, allAtOnce: &atomic.Bool{}}
	e := newEnv(t, api.WithReplication(reg))
	var regs []api.Registry
	e.do(admin(), http.MethodGet, "/registries?health=true&page_size=10&page=2", nil).ok(t, http.StatusOK, &regs)
	require.Len(t, regs, 10)
	assert.True(t, reg.allAtOnce.Load(), "the ten checks ran one after another")
	assert.Equal(t, int32(10), reg.inFlight.Load(), "only the page's registries were checked")
	assert.Equal(t, int64(11), regs[0].ID)
	assert.Equal(t, "unhealthy", regs[0].Status)
	assert.Equal(t, "healthy", regs[1].Status)
	// Without health=true nothing is checked.
	var plain []api.Registry
	e.do(admin(), http.MethodGet, "/registries?page_size=10", nil).ok(t, http.StatusOK, &plain)
	require.NotEmpty(t, plain)
	assert.Empty(t, plain[0].Status)
}
