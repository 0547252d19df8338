package api_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/scan"
)

type fakeHealth []api.ComponentHealth

func (h fakeHealth) Health(context.Context) []api.ComponentHealth { return h }

// countingHealth counts the checks.
type countingHealth struct{ n atomic.Int32 }

func (h *countingHealth) Health(context.Context) []api.ComponentHealth {
	h.n.Add(1)
	return []api.ComponentHealth{{Name: "database", Status: api.Healthy}}
}

func TestHealth(t *testing.T) {
	t.Run("core only", func(t *testing.T) {
		e := newEnv(t)
		var got api.OverallHealth
		e.do(anonymous, http.MethodGet, "/health", nil).ok(t, http.StatusOK, &got)
		assert.Equal(t, api.OverallHealth{Status: "healthy", Components: []api.ComponentHealth{{Name: "core", Status: "healthy"}}}, got)
	})
	t.Run("one component down", func(t *testing.T) {
		e := newEnv(t, api.WithHealth(fakeHealth{{Name: "database", Status: api.Healthy},
			{Name: "storage", Status: api.Unhealthy, Error: "blob storage unavailable"}}))
		var got map[string]any
		e.do(anonymous, http.MethodGet, "/health", nil).ok(t, http.StatusOK, &got)
		assert.Equal(t, "unhealthy", got["status"])
		assert.Equal(t, []any{
			map[string]any{"name": "core", "status": "healthy"},
			map[string]any{"name": "database", "status": "healthy"},
			map[string]any{"name": "storage", "status": "unhealthy", "error": "blob storage unavailable"},
		}, got["components"])
	})
	t.Run("a flood is answered from one check", func(t *testing.T) {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		checks := &countingHealth{}
		e := newEnv(t, api.WithHealth(checks), api.WithClock(func() time.Time { return now }))
		for range 20 {
			e.do(anonymous, http.MethodGet, "/health", nil).ok(t, http.StatusOK, nil)
		}
		assert.Equal(t, int32(1), checks.n.Load())
		now = now.Add(5 * time.Second)
		e.do(anonymous, http.MethodGet, "/health", nil).ok(t, http.StatusOK, nil)
		assert.Equal(t, int32(2), checks.n.Load(), "a later call checks again")
	})
	t.Run("bad credentials are refused", func(t *testing.T) {
		e := newEnv(t)
		e.do(cred{"admin", "wrong-password"}, http.MethodGet, "/health", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	})
}

func TestStatistics(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	e.project("pub", true)
	e.project("priv", false, "alice=developer")
	e.project("other", false)
	e.push("pub/a", "1")
	e.push("priv/b", "1")
	e.push("priv/c", "1")
	e.push("other/d", "1")

	var st api.Statistic
	e.do(admin(), http.MethodGet, "/statistics", nil).ok(t, http.StatusOK, &st)
	assert.Positive(t, st.TotalStorageConsumption)
	st.TotalStorageConsumption = 0
	assert.Equal(t, api.Statistic{PublicProjectCount: 1, PublicRepoCount: 1, PrivateProjectCount: 2, PrivateRepoCount: 3,
		TotalProjectCount: 3, TotalRepoCount: 4}, st)

	st = api.Statistic{}
	e.do(as("alice"), http.MethodGet, "/statistics", nil).ok(t, http.StatusOK, &st)
	assert.Equal(t, api.Statistic{PublicProjectCount: 1, PublicRepoCount: 1, PrivateProjectCount: 1, PrivateRepoCount: 2}, st,
		"a member counts the private projects she belongs to; no totals, no storage")

	st = api.Statistic{}
	e.do(as("bob"), http.MethodGet, "/statistics", nil).ok(t, http.StatusOK, &st)
	assert.Equal(t, api.Statistic{PublicProjectCount: 1, PublicRepoCount: 1}, st)

	e.do(anonymous, http.MethodGet, "/statistics", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	e.project("pub", true)
	e.project("priv", false, "alice=guest")
	e.push("pub/web", "1")
	e.push("priv/web-private", "1")
	e.push("priv/api", "1")

	search := func(who cred, q string) (projects, repos []string) {
		var res api.SearchResult
		e.do(who, http.MethodGet, "/search?q="+q, nil).ok(t, http.StatusOK, &res)
		projects, repos = []string{}, []string{}
		for _, p := range res.Project {
			projects = append(projects, p.Name)
		}
		for _, r := range res.Repository {
			repos = append(repos, r.RepositoryName)
			if r.RepositoryName == "priv/web-private" {
				assert.False(t, r.ProjectPublic)
				assert.EqualValues(t, 1, r.ArtifactCount)
			}
		}
		return projects, repos
	}
	p, r := search(as("alice"), "web")
	assert.Empty(t, p)
	assert.Equal(t, []string{"priv/web-private", "pub/web"}, r)
	p, r = search(as("bob"), "web")
	assert.Empty(t, p)
	assert.Equal(t, []string{"pub/web"}, r, "bob is no member of priv")
	p, r = search(anonymous, "p")
	assert.Equal(t, []string{"pub"}, p)
	assert.Equal(t, []string{"pub/web"}, r)
	p, r = search(admin(), "PRIV")
	assert.Equal(t, []string{"priv"}, p, "names are lower-case: the search is too")
	assert.Equal(t, []string{"priv/api", "priv/web-private"}, r)

	var raw map[string]any
	e.do(anonymous, http.MethodGet, "/search?q=nothing", nil).ok(t, http.StatusOK, &raw)
	assert.Equal(t, map[string]any{"project": []any{}, "repository": []any{}}, raw)

	msg := e.do(as("alice"), http.MethodGet, "/search", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	require.Contains(t, msg, "q is required")
}

// healthScanners is a scanning service whose scanners are "up" (answers),
// "down" (does not) and "off" (disabled, not asked).
type healthScanners struct{ api.Scanning }

func (healthScanners) Scanners(context.Context) ([]scan.Registration, error) {
	return []scan.Registration{{ID: "1", Name: "up"}, {ID: "2", Name: "down"}, {ID: "3", Name: "off", Disabled: true}}, nil
}

func (healthScanners) ScannerMetadata(_ context.Context, id string) (scan.Metadata, error) {
	if id == "2" {
		return scan.Metadata{}, errors.New("dial tcp: connection refused")
	}
	return scan.Metadata{}, nil
}

func TestHealthAsksTheScanners(t *testing.T) {
	e := newEnv(t, api.WithScanning(healthScanners{}))
	var got api.OverallHealth
	e.do(anonymous, http.MethodGet, "/health", nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, api.OverallHealth{Status: "unhealthy", Components: []api.ComponentHealth{{Name: "core", Status: "healthy"},
		{Name: "scanner:up", Status: "healthy"}, {Name: "scanner:down", Status: "unhealthy", Error: "the scanner does not answer"}}}, got)
}
