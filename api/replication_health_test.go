package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/replicate"
)

// slowRegistries lists n registries whose health checks each take delay;
// odd ids are unhealthy.
type slowRegistries struct {
	api.Replicator // nil: only what the listing needs is implemented
	n              int
	delay          time.Duration
}

func (s slowRegistries) Endpoints(_ context.Context, _ string, page core.Page) ([]replicate.Endpoint, int, error) {
	var out []replicate.Endpoint
	for i := page.Offset; i < s.n && len(out) < page.Limit; i++ {
		out = append(out, replicate.Endpoint{ID: int64(i + 1), Name: "r", URL: "http://127.0.0.1:1"})
	}
	return out, s.n, nil
}

func (s slowRegistries) PingEndpoint(ctx context.Context, e replicate.Endpoint) error {
	time.Sleep(s.delay)
	if e.ID%2 == 1 {
		return replicate.ErrInvalid
	}
	return nil
}

// health=true checks the page's registries at once: ten slow checks take
// about one check's time, and only the page's registries are checked.
func TestRegistryHealthChecksConcurrently(t *testing.T) {
	e := newEnv(t, api.WithReplication(slowRegistries{n: 40, delay: 300 * time.Millisecond}))
	start := time.Now()
	var regs []api.Registry
	e.do(admin(), http.MethodGet, "/registries?health=true&page_size=10&page=2", nil).ok(t, http.StatusOK, &regs)
	took := time.Since(start)
	require.Len(t, regs, 10)
	assert.Less(t, took, 2*time.Second, "ten checks of 300ms each ran one after another")
	assert.Equal(t, int64(11), regs[0].ID)
	assert.Equal(t, "unhealthy", regs[0].Status)
	assert.Equal(t, "healthy", regs[1].Status)
	// Without health=true nothing is checked.
	var plain []api.Registry
	e.do(admin(), http.MethodGet, "/registries?page_size=10", nil).ok(t, http.StatusOK, &plain)
	require.NotEmpty(t, plain)
	assert.Empty(t, plain[0].Status)
}
