package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockRepo is a PullGate and PushGate that refuses one repository.
type blockRepo struct {
	repo string
	mu   sync.Mutex
	seen []Target
	tags [][]string
}

func (g *blockRepo) check(t Target) error {
	g.mu.Lock()
	g.seen = append(g.seen, t)
	g.mu.Unlock()
	if t.Repository == g.repo {
		return Denied("blocked: 2 critical vulnerabilities above the project's threshold 'high'")
	}
	return nil
}

func (g *blockRepo) CheckPull(_ context.Context, t Target) error { return g.check(t) }

func (g *blockRepo) CheckPush(_ context.Context, t Target, tags []string) error {
	g.mu.Lock()
	g.tags = append(g.tags, tags)
	g.mu.Unlock()
	return g.check(t)
}

func (g *blockRepo) last() Target {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen[len(g.seen)-1]
}

func requireDenied(t *testing.T, r *response) {
	t.Helper()
	requireError(t, r, http.StatusPreconditionFailed, CodeDenied)
	var body errorBody
	require.NoError(t, json.Unmarshal(r.Body, &body))
	assert.Equal(t, "blocked: 2 critical vulnerabilities above the project's threshold 'high'", body.Errors[0].Message)
}

func TestPullGate(t *testing.T) { onEngines(t, testPullGate) }

func testPullGate(t *testing.T) {
	gate := &blockRepo{repo: "vulnerable"}
	tr := newTestRegistry(t, WithPullGate(gate))
	bad := tr.pushImage("vulnerable", "v1", 1)
	good := tr.pushImage("clean", "v1", 1)

	for _, ref := range []string{"v1", bad.Digest.String()} {
		t.Run(ref, func(t *testing.T) {
			requireDenied(t, tr.getManifest("vulnerable", ref))
			r := tr.do(http.MethodHead, "/v2/vulnerable/manifests/"+ref, nil, nil)
			assert.Equal(t, http.StatusOK, r.Status, "HEAD is not gated")
			assert.Empty(t, r.Body)
		})
	}
	want := Target{Repository: "vulnerable", Reference: bad.Digest.String(), Digest: bad.Digest,
		MediaType: MediaTypeOCIManifest, ArtifactType: v1.MediaTypeImageConfig, Size: int64(len(bad.Manifest))}
	got := gate.last()
	assert.Equal(t, bad.Manifest, got.Manifest)
	got.Manifest = nil
	assert.Equal(t, want, got)

	t.Run("manifest through the blob endpoint", func(t *testing.T) {
		requireDenied(t, tr.do(http.MethodGet, "/v2/vulnerable/blobs/"+bad.Digest.String(), nil, nil))
	})

	r := tr.getManifest("clean", "v1")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, good.Manifest, r.Body)
	assert.Equal(t, good.Manifest, gate.last().Manifest, "GET hands the gate the manifest bytes")
}

func TestPushGate(t *testing.T) { onEngines(t, testPushGate) }

func testPushGate(t *testing.T) {
	gate := &blockRepo{repo: "frozen"}
	tr := newTestRegistry(t, WithPushGate(gate))
	tr.pushImage("open", "v1", 1)

	img := randomImage(t, 1)
	tr.pushImageBlobs("frozen", img)
	before := tr.state("frozen")
	tests := []struct {
		ref  string
		tags []string
	}{
		{"v1", []string{"v1"}},
		{img.Digest.String(), nil},
		{img.Digest.String() + "?tag=a&tag=b", []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			requireDenied(t, tr.putManifest("frozen", tt.ref, MediaTypeOCIManifest, img.Manifest))
			assert.Equal(t, tt.tags, gate.tags[len(gate.tags)-1])
			assert.Equal(t, img.Digest, gate.last().Digest)
			assert.Equal(t, img.Manifest, gate.last().Manifest)
			for _, ref := range []string{"v1", "a", "b", img.Digest.String()} {
				tr.requireNoManifest("frozen", ref)
			}
			assert.Equal(t, before, tr.state("frozen"))
		})
	}
}

// tokenAuth demands a bearer token and records what each request needs.
type tokenAuth struct {
	mu    sync.Mutex
	needs [][]Access
}

type callerKey struct{}

func (a *tokenAuth) Authorize(r *http.Request, need []Access) (context.Context, error) {
	a.mu.Lock()
	a.needs = append(a.needs, need)
	a.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer good" {
		e := &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "authentication required",
			Header: http.Header{"Www-Authenticate": {`Bearer realm="https://auth.example.com/token",service="berth"`}}}
		return nil, e
	}
	if len(need) > 0 && need[0].Name == "forbidden" {
		return nil, &Error{Status: http.StatusForbidden, Code: CodeDenied, Message: "no access to forbidden"}
	}
	return context.WithValue(r.Context(), callerKey{}, "alice"), nil
}

func (a *tokenAuth) last() []Access {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.needs[len(a.needs)-1]
}

func TestAuthorizerChallenge(t *testing.T) { onEngines(t, testAuthorizerChallenge) }

func testAuthorizerChallenge(t *testing.T) {
	auth := &tokenAuth{}
	tr := newTestRegistry(t, WithAuthorizer(auth))
	for _, path := range []string{"/v2/", "/v2/r/tags/list", "/v2/_catalog"} {
		r := tr.do(http.MethodGet, path, nil, nil)
		requireError(t, r, http.StatusUnauthorized, CodeUnauthorized)
		assert.Equal(t, `Bearer realm="https://auth.example.com/token",service="berth"`, r.Header.Get("WWW-Authenticate"))
	}
	ok := hdr("Authorization", "Bearer good")
	require.Equal(t, http.StatusOK, tr.do(http.MethodGet, "/v2/", nil, ok).Status)
	requireError(t, tr.do(http.MethodGet, "/v2/forbidden/tags/list", nil, ok), http.StatusForbidden, CodeDenied)

	// Nothing was pushed by the refused requests.
	d := digest.FromString("x")
	requireError(t, tr.do(http.MethodPost, "/v2/r/blobs/uploads/?digest="+d.String(), []byte("x"), nil),
		http.StatusUnauthorized, CodeUnauthorized)
	requireError(t, tr.do(http.MethodGet, "/v2/r/blobs/"+d.String(), nil, ok), http.StatusNotFound, CodeBlobUnknown)
}

func TestAuthorizerAccess(t *testing.T) { onEngines(t, testAuthorizerAccess) }

func testAuthorizerAccess(t *testing.T) {
	auth := &tokenAuth{}
	tr := newTestRegistry(t, WithAuthorizer(auth))
	d := digest.FromString("x").String()
	repo := func(name string, actions ...string) Access {
		return Access{Type: ResourceRepository, Name: name, Actions: actions}
	}
	tests := []struct {
		method, path string
		need         []Access
	}{
		{http.MethodGet, "/v2/", nil},
		{http.MethodGet, "/v2/_catalog", []Access{{Type: ResourceRegistry, Name: "catalog", Actions: []string{ActionAll}}}},
		{http.MethodGet, "/v2/a/b/tags/list", []Access{repo("a/b", ActionPull)}},
		{http.MethodGet, "/v2/a/manifests/v1", []Access{repo("a", ActionPull)}},
		{http.MethodHead, "/v2/a/manifests/v1", []Access{repo("a", ActionPull)}},
		{http.MethodPut, "/v2/a/manifests/v1", []Access{repo("a", ActionPull, ActionPush)}},
		{http.MethodDelete, "/v2/a/manifests/v1", []Access{repo("a", ActionDelete)}},
		{http.MethodGet, "/v2/a/blobs/" + d, []Access{repo("a", ActionPull)}},
		{http.MethodDelete, "/v2/a/blobs/" + d, []Access{repo("a", ActionDelete)}},
		{http.MethodGet, "/v2/a/referrers/" + d, []Access{repo("a", ActionPull)}},
		{http.MethodPost, "/v2/a/blobs/uploads/", []Access{repo("a", ActionPull, ActionPush)}},
		{http.MethodPost, "/v2/a/blobs/uploads/?mount=" + d + "&from=src/x", []Access{repo("a", ActionPull, ActionPush), repo("src/x", ActionPull)}},
		{http.MethodPost, "/v2/a/blobs/uploads/?mount=" + d + "&from=a", []Access{repo("a", ActionPull, ActionPush)}},
		{http.MethodPost, "/v2/a/blobs/uploads/?mount=" + d, []Access{repo("a", ActionPull, ActionPush)}},
		{http.MethodPatch, "/v2/a/blobs/uploads/id", []Access{repo("a", ActionPull, ActionPush)}},
		{http.MethodPut, "/v2/a/blobs/uploads/id?digest=" + d, []Access{repo("a", ActionPull, ActionPush)}},
		{http.MethodGet, "/v2/a/blobs/uploads/id", []Access{repo("a", ActionPull, ActionPush)}},
		{http.MethodDelete, "/v2/a/blobs/uploads/id", []Access{repo("a", ActionPull, ActionPush)}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := tr.do(tt.method, tt.path, nil, hdr("Authorization", "Bearer good"))
			assert.NotEqual(t, http.StatusUnauthorized, r.Status)
			assert.Equal(t, tt.need, auth.last())
		})
	}
	t.Run("invalid names are refused before the authorizer", func(t *testing.T) {
		n := len(auth.needs)
		r := tr.do(http.MethodGet, "/v2/A/tags/list", nil, nil)
		requireError(t, r, http.StatusBadRequest, CodeNameInvalid)
		assert.Len(t, auth.needs, n)
	})
}

// waitEvents receives n events or fails after a timeout.
func (r *recordedEvents) wait(t *testing.T, n int) []Event {
	t.Helper()
	var out []Event
	for len(out) < n {
		select {
		case e := <-r.ch:
			out = append(out, e)
		case <-time.After(5 * time.Second):
			require.Failf(t, "events", "got %d of %d events: %+v", len(out), n, out)
		}
	}
	return out
}

func TestEvents(t *testing.T) { onEngines(t, testEvents) }

func testEvents(t *testing.T) {
	events := newRecordedEvents()
	tr := newTestRegistry(t, WithEventSink(events))
	img := randomImage(t, 1)
	cd, ld := digest.FromBytes(img.Config), digest.FromBytes(img.Layers[0])

	// strip keeps the fields a test can predict.
	strip := func(es []Event) []Event {
		for i := range es {
			assert.False(t, es[i].Time.IsZero())
			assert.NotEmpty(t, es[i].RemoteAddr)
			assert.Equal(t, "Go-http-client/1.1", es[i].UserAgent)
			es[i].Time, es[i].RemoteAddr, es[i].UserAgent = time.Time{}, "", ""
		}
		return es
	}
	size := int64(len(img.Manifest))
	manifest := Event{Target: TargetManifest, Repository: "r", Digest: img.Digest, MediaType: MediaTypeOCIManifest,
		ArtifactType: v1.MediaTypeImageConfig, Size: size}
	with := func(e Event, f func(*Event)) Event { f(&e); return e }

	steps := []struct {
		name string
		do   func()
		want []Event
	}{
		{"push blobs", func() { tr.pushImageBlobs("r", img) }, []Event{
			{Action: EventPush, Target: TargetBlob, Repository: "r", Digest: cd, Size: int64(len(img.Config))},
			{Action: EventPush, Target: TargetBlob, Repository: "r", Digest: ld, Size: 256},
		}},
		{"push manifest by tag", func() { tr.pushManifest("r", "v1", MediaTypeOCIManifest, img.Manifest) }, []Event{
			with(manifest, func(e *Event) { e.Action, e.Tag = EventPush, "v1" }),
		}},
		{"push manifest with two tags", func() {
			tr.pushManifest("r", img.Digest.String()+"?tag=a&tag=b", MediaTypeOCIManifest, img.Manifest)
		}, []Event{
			with(manifest, func(e *Event) { e.Action, e.Tag = EventPush, "a" }),
			with(manifest, func(e *Event) { e.Action, e.Tag = EventPush, "b" }),
		}},
		{"pull by tag", func() { require.Equal(t, http.StatusOK, tr.getManifest("r", "v1").Status) }, []Event{
			with(manifest, func(e *Event) { e.Action, e.Tag = EventPull, "v1" }),
		}},
		{"pull by digest, HEAD is silent", func() {
			require.Equal(t, http.StatusOK, tr.do(http.MethodHead, "/v2/r/manifests/v1", nil, nil).Status)
			require.Equal(t, http.StatusOK, tr.getManifest("r", img.Digest.String()).Status)
		}, []Event{
			with(manifest, func(e *Event) { e.Action = EventPull }),
		}},
		{"pull blob", func() {
			require.Equal(t, http.StatusOK, tr.do(http.MethodGet, "/v2/r/blobs/"+ld.String(), nil, nil).Status)
		}, []Event{
			{Action: EventPull, Target: TargetBlob, Repository: "r", Digest: ld, Size: 256},
		}},
		{"mount", func() {
			require.Equal(t, http.StatusCreated, tr.do(http.MethodPost, "/v2/s/blobs/uploads/?mount="+ld.String()+"&from=r", nil, nil).Status)
		}, []Event{
			{Action: EventMount, Target: TargetBlob, Repository: "s", Digest: ld, Size: 256, From: "r"},
		}},
		{"delete tag", func() {
			require.Equal(t, http.StatusAccepted, tr.do(http.MethodDelete, "/v2/r/manifests/a", nil, nil).Status)
		}, []Event{
			{Action: EventDelete, Target: TargetTag, Repository: "r", Tag: "a", Digest: img.Digest},
		}},
		{"delete manifest", func() {
			require.Equal(t, http.StatusAccepted, tr.do(http.MethodDelete, "/v2/r/manifests/"+img.Digest.String(), nil, nil).Status)
		}, []Event{
			with(manifest, func(e *Event) { e.Action = EventDelete }),
		}},
		{"delete blob", func() {
			require.Equal(t, http.StatusAccepted, tr.do(http.MethodDelete, "/v2/s/blobs/"+ld.String(), nil, nil).Status)
		}, []Event{
			{Action: EventDelete, Target: TargetBlob, Repository: "s", Digest: ld},
		}},
	}
	for _, st := range steps {
		st.do()
		assert.Equal(t, st.want, strip(events.wait(t, len(st.want))), st.name)
		assert.Empty(t, events.drain(), st.name)
	}

	// Refused requests emit nothing.
	requireError(t, tr.getManifest("r", "v1"), http.StatusNotFound, CodeManifestUnknown)
	requireError(t, tr.putManifest("r", "x", MediaTypeOCIManifest, []byte("{")), http.StatusBadRequest, CodeManifestInvalid)
	assert.Empty(t, events.drain())
}

func TestDeniedIsAnError(t *testing.T) {
	var e *Error
	err := error(Denied("blocked: unsigned"))
	require.True(t, errors.As(err, &e))
	assert.Equal(t, http.StatusPreconditionFailed, e.Status)
	assert.Equal(t, CodeDenied, e.Code)
	assert.True(t, strings.HasSuffix(err.Error(), "blocked: unsigned"))
}

type actorAuthorizer struct{}

func (actorAuthorizer) Authorize(r *http.Request, _ []Access) (context.Context, error) {
	return WithActor(r.Context(), "alice"), nil
}

func TestEventsCarryTheActor(t *testing.T) { onEngines(t, testEventsCarryTheActor) }

func testEventsCarryTheActor(t *testing.T) {
	events := newRecordedEvents()
	tr := newTestRegistry(t, WithAuthorizer(actorAuthorizer{}), WithEventSink(events))
	tr.pushBlob("r", []byte("x"))
	got := events.drain()
	require.NotEmpty(t, got)
	for _, e := range got {
		assert.Equal(t, "alice", e.Actor)
	}
	assert.Equal(t, "", ActorFrom(context.Background()))
}
