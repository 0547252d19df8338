package registry

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// denyAs refuses every repository request of a known caller with 403 and
// answers anonymous callers with a 401 challenge, as an RBAC authorizer.
type denyAs struct{}

func (denyAs) Authorize(r *http.Request, need []Access) (context.Context, error) {
	if len(need) == 0 || need[0].Name == "open/app" {
		return r.Context(), nil
	}
	if r.Header.Get("X-User") == "" {
		return nil, newError(http.StatusUnauthorized, CodeUnauthorized, "authentication required")
	}
	return WithActor(r.Context(), r.Header.Get("X-User")), newError(http.StatusForbidden, CodeDenied, "no push in team")
}

// Refusals of known callers (403 from the authorizer, 412 from a gate)
// reach the refusal sink with what was asked and why; anonymous
// challenges do not, and the event sink never sees a refusal.
func TestRefusalsAreReported(t *testing.T) { onEngines(t, testRefusalsAreReported) }

func testRefusalsAreReported(t *testing.T) {
	gate := &blockRepo{repo: "vulnerable"}
	events, refusals := newRecordedEvents(), newRecordedEvents()
	tr := newTestRegistry(t, WithPullGate(gate), WithPushGate(&blockRepo{repo: "frozen"}),
		WithEventSink(events), WithRefusalSink(refusals))
	img := tr.pushImage("vulnerable", "v1", 1)
	events.drain()

	requireDenied(t, tr.getManifest("vulnerable", "v1"))
	r := tr.do(http.MethodGet, "/v2/vulnerable/blobs/"+img.Digest.String(), nil, nil)
	assert.Equal(t, http.StatusPreconditionFailed, r.Status, "a manifest read as a blob is gated too")
	requireDenied(t, tr.putManifest("frozen", "v1", MediaTypeOCIManifest, img.Manifest))

	got := refusals.drain()
	require.Len(t, got, 3)
	assert.Equal(t, EventPull, got[0].Action)
	assert.Equal(t, TargetManifest, got[0].Target)
	assert.Equal(t, "vulnerable", got[0].Repository)
	assert.Equal(t, "v1", got[0].Tag)
	assert.Equal(t, img.Digest, got[0].Digest)
	assert.Equal(t, http.StatusPreconditionFailed, got[0].Status)
	assert.Equal(t, "blocked: 2 critical vulnerabilities above the project's threshold 'high'", got[0].Refused)
	assert.Equal(t, img.Digest, got[1].Digest)
	assert.Equal(t, EventPush, got[2].Action)
	assert.Equal(t, "frozen", got[2].Repository)
	for _, e := range events.drain() {
		assert.Empty(t, e.Refused, "the event sink sees no refusal: %+v", e)
	}

	tr2 := newTestRegistry(t, WithAuthorizer(denyAs{}), WithRefusalSink(refusals))
	r = tr2.do(http.MethodPut, "/v2/team/app/manifests/v1", img.Manifest, hdr("Content-Type", MediaTypeOCIManifest, "X-User", "alice"))
	assert.Equal(t, http.StatusForbidden, r.Status)
	r = tr2.do(http.MethodGet, "/v2/team/app/manifests/v1", nil, nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	got = refusals.drain()
	require.Len(t, got, 1, "the anonymous challenge is not a refusal")
	assert.Equal(t, EventPush, got[0].Action)
	assert.Equal(t, "alice", got[0].Actor)
	assert.Equal(t, http.StatusForbidden, got[0].Status)
	assert.Equal(t, "no push in team", got[0].Refused)
}
