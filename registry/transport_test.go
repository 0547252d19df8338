package registry_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/storage/memory"
)

type refuseAll struct{}

func (refuseAll) Authorize(*http.Request, []registry.Access) (context.Context, error) {
	return nil, errors.New("no one may pass")
}
func (refuseAll) CheckPull(context.Context, registry.Target) error { return registry.Denied("blocked") }

// The in-process transport carries a whole go-containerregistry push and
// pull, past an Authorizer and a PullGate that refuse everyone, and events
// name its actor.
func TestTransportServesTrustedClients(t *testing.T) {
	actors := make(chan string, 10)
	sink := registry.EventSinkFunc(func(_ context.Context, e registry.Event) {
		if e.Action == registry.EventPush && e.Target == registry.TargetManifest {
			actors <- e.Actor // emitted once the answer is out, as over HTTP
		}
	})
	rg, err := registry.New(t.Context(), memory.New(), nil, registry.WithAuthorizer(refuseAll{}),
		registry.WithPullGate(refuseAll{}), registry.WithEventSink(sink))
	require.NoError(t, err)
	tr := rg.Transport("scanner")

	img, err := random.Image(3<<20, 3)
	require.NoError(t, err)
	ref, err := name.ParseReference("berth.internal/lib/app:v1")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithTransport(tr), remote.WithContext(t.Context())))
	select {
	case actor := <-actors:
		require.Equal(t, "scanner", actor)
	case <-time.After(10 * time.Second):
		t.Fatal("no push event")
	}

	got, err := remote.Image(ref, remote.WithTransport(tr))
	require.NoError(t, err)
	want, _ := img.Digest()
	gotDigest, err := got.Digest()
	require.NoError(t, err)
	require.Equal(t, want, gotDigest)
	layers, err := got.Layers()
	require.NoError(t, err)
	for _, l := range layers {
		rc, err := l.Compressed() // verifies the digest while reading
		require.NoError(t, err)
		_, err = rc.Read(make([]byte, 1))
		require.NoError(t, err)
		require.NoError(t, rc.Close())
	}
	desc, err := remote.Head(ref, remote.WithTransport(tr))
	require.NoError(t, err)
	require.Equal(t, want, desc.Digest)

	// Errors come back as the registry wrote them.
	_, err = remote.Image(ref.Context().Tag("missing"), remote.WithTransport(tr))
	var terr interface{ Error() string }
	require.ErrorAs(t, err, &terr)
	require.Contains(t, err.Error(), "MANIFEST_UNKNOWN")

	// Through HTTP the same registry refuses.
	rec := &recorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/v2/lib/app/manifests/v1", nil)
	rg.ServeHTTP(rec, req)
	require.NotEqual(t, http.StatusOK, rec.status)
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(p []byte) (int, error) { r.WriteHeader(200); return len(p), nil }

type panicGate struct{}

func (panicGate) CheckPush(context.Context, registry.Target, []string) error { panic("gate bug") }

// A handler panic on the in-process path is an error for the client, not
// the end of the process.
func TestTransportRecoversPanics(t *testing.T) {
	rg, err := registry.New(t.Context(), memory.New(), nil, registry.WithPushGate(panicGate{}))
	require.NoError(t, err)
	img, err := random.Image(1024, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference("berth.internal/lib/app:v1")
	require.NoError(t, err)
	err = remote.Write(ref, img, remote.WithTransport(rg.Transport("t")), remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in-process request aborted: gate bug")
}
