package replicate_test

import (
	"context"
	"fmt"
	"github.com/berthlabs/berth/core"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/replicate"
)

// run starts policy id and waits for its execution.
func run(t *testing.T, l *local, id int64) *replicate.Execution {
	t.Helper()
	eid, err := l.svc.StartExecution(context.Background(), id, replicate.TriggerManual)
	require.NoError(t, err)
	return waitExec(t, l.svc, eid, 2*time.Minute)
}

// TestIncremental: replicating the same 10 images twice moves zero bytes
// the second time, counted by the execution and by the destination's own
// meter; after one more image sharing layers with them, only its new
// blobs move.
func TestIncremental(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		ctx := context.Background()
		l := newLocal(t, eng)
		dst := newBerth(t)
		epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "dst", URL: dst.url})
		require.NoError(t, err)
		base := randomImage(t, 256<<10) // a shared base layer
		for i := range 10 {
			l1, err := random.Layer(64<<10, types.OCILayer)
			require.NoError(t, err)
			img, err := mutate.AppendLayers(base, l1)
			require.NoError(t, err)
			push(t, l.host, fmt.Sprintf("apps/app%d:v1", i), img)
		}
		pid, err := l.svc.CreatePolicy(ctx, replicate.Policy{Name: "inc", Mode: replicate.Push, RemoteID: epID, Enabled: true,
			Trigger: replicate.TriggerManual, Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "apps/*"}}})
		require.NoError(t, err)

		e := run(t, l, pid)
		require.Equal(t, replicate.StatusSucceed, e.Status, "%+v", e)
		require.Equal(t, 10, e.Total)
		first := dst.meta.in.Load()
		t.Logf("first run: execution counted %d bytes, the destination received %d request-body bytes", e.Bytes, first)
		// The shared base layer moved once; other repositories mounted it.
		assert.Less(t, e.Bytes, int64(2*256<<10+10*(64<<10+8<<10)))

		e = run(t, l, pid)
		require.Equal(t, replicate.StatusSucceed, e.Status)
		assert.Zero(t, e.Bytes, "second run: bytes counted by the execution")
		assert.Equal(t, first, dst.meta.in.Load(), "second run: bytes the destination received")

		// One more image sharing the base layer: only its new layer, config and
		// manifest move.
		extra, err := random.Layer(100<<10, types.OCILayer)
		require.NoError(t, err)
		img, err := mutate.AppendLayers(base, extra)
		require.NoError(t, err)
		push(t, l.host, "apps/app10:v1", img)
		before := dst.meta.in.Load()
		e = run(t, l, pid)
		require.Equal(t, replicate.StatusSucceed, e.Status)
		cfg, err := img.RawConfigFile()
		require.NoError(t, err)
		raw, err := img.RawManifest()
		require.NoError(t, err)
		xs, err := extra.Size()
		require.NoError(t, err)
		want := xs + int64(len(cfg)) + int64(len(raw))
		assert.Equal(t, want, e.Bytes, "third run: the new layer, config and manifest only")
		assert.Equal(t, want, dst.meta.in.Load()-before, "third run: bytes the destination received")
		sameImage(t, l.host, "apps/app10:v1", dst.host, "apps/app10:v1")
	})
}

// TestRetryAfter: a 429 with Retry-After: 2 is waited out, not failed.
func TestRetryAfter(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, "sqlite")
	dst := newBerth(t)
	u, err := url.Parse(dst.url)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var patches, puts, limited atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The first chunk upload and the first manifest write are refused.
		if (r.Method == http.MethodPatch && patches.Add(1) == 1) ||
			(r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && puts.Add(1) == 1) {
			limited.Add(1)
			w.Header().Set("Retry-After", "2")
			http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`, http.StatusTooManyRequests)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "limited", URL: front.URL})
	require.NoError(t, err)
	push(t, l.host, "rl/app:v1", randomImage(t, 50<<10))
	pid, err := l.svc.CreatePolicy(ctx, replicate.Policy{Name: "rl", Mode: replicate.Push, RemoteID: epID, Enabled: true,
		Trigger: replicate.TriggerManual, Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "rl/app"}}})
	require.NoError(t, err)
	start := time.Now()
	e := run(t, l, pid)
	took := time.Since(start)
	require.Equal(t, replicate.StatusSucceed, e.Status, "%+v", e)
	assert.Equal(t, int64(2), limited.Load())
	assert.GreaterOrEqual(t, took, 4*time.Second, "two waits of 2s")
	tasks, _, err := l.svc.Tasks(ctx, e.ID, core.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	log, _ := l.svc.TaskLog(ctx, e.ID, tasks[0].ID)
	assert.Equal(t, 1, tasks[0].Attempts, "waited out within the attempt, not failed and retried; log:\n%s", log)
	sameImage(t, l.host, "rl/app:v1", dst.host, "rl/app:v1")
}
