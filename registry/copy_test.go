package registry

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
)

// frozenTags refuses pushes that set a tag named "frozen*", and any push
// into a repository named "dst/frozen".
type frozenTags struct{}

func (frozenTags) CheckPush(_ context.Context, t Target, tags []string) error {
	if t.Repository == "dst/frozen" {
		return Denied("dst/frozen is frozen")
	}
	for _, tg := range tags {
		if len(tg) >= 6 && tg[:6] == "frozen" {
			return Denied("tag " + tg + " is frozen")
		}
	}
	return nil
}

func TestTagArtifact(t *testing.T) { onEngines(t, testTagArtifact) }

func testTagArtifact(t *testing.T) {
	events := newRecordedEvents()
	tr := newTestRegistry(t, WithPushGate(frozenTags{}), WithEventSink(events))
	ctx := WithActor(t.Context(), "alice")
	img := tr.pushImage("lib/app", "v1", 1)
	events.drain()

	require.NoError(t, tr.rg.TagArtifact(ctx, "lib/app", img.Digest, "v2"))
	a, err := tr.rg.GetArtifact(ctx, "lib/app", "v2")
	require.NoError(t, err)
	assert.Equal(t, img.Digest, a.Digest)
	assert.Equal(t, []string{"v1", "v2"}, a.Tags)
	got := events.drain()
	require.Len(t, got, 1)
	assert.Equal(t, "v2", got[0].Tag)
	assert.Equal(t, "alice", got[0].Actor)

	assert.ErrorIs(t, tr.rg.TagArtifact(ctx, "lib/app", img.Digest, "v1"), core.ErrExists)
	assert.ErrorIs(t, tr.rg.TagArtifact(ctx, "lib/app", img.Digest, "-bad"), core.ErrInvalid)
	assert.ErrorIs(t, tr.rg.TagArtifact(ctx, "lib/app", digest.FromString("none"), "v3"), ErrNotFound)
	err = tr.rg.TagArtifact(ctx, "lib/app", img.Digest, "frozen1")
	var re *Error
	require.True(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, http.StatusPreconditionFailed, re.Status)
	_, err = tr.rg.GetArtifact(ctx, "lib/app", "frozen1")
	assert.ErrorIs(t, err, ErrNotFound, "a refused tag is not set")
}

func TestCopyArtifact(t *testing.T) { onEngines(t, testCopyArtifact) }

func testCopyArtifact(t *testing.T) {
	tr := newTestRegistry(t, WithPushGate(frozenTags{}))
	ctx := t.Context()
	img := tr.pushImage("src/app", "v1", 2)
	other := tr.pushImage("src/app", "", 1)
	idx := indexOf(t, v1.MediaTypeImageIndex, descriptorOf(v1.MediaTypeImageManifest, img.Manifest),
		descriptorOf(v1.MediaTypeImageManifest, other.Manifest))
	idxDigest := tr.pushManifest("src/app", "multi", v1.MediaTypeImageIndex, idx)

	d, err := tr.rg.CopyArtifact(ctx, "src/app", "v1", "dst/app")
	require.NoError(t, err)
	assert.Equal(t, img.Digest, d)
	r := tr.getManifest("dst/app", "v1")
	require.Equal(t, http.StatusOK, r.Status)
	for _, l := range img.Layers {
		r := tr.do(http.MethodGet, "/v2/dst/app/blobs/"+digest.FromBytes(l).String(), nil, nil)
		assert.Equal(t, http.StatusOK, r.Status, "layers are linked into the target")
	}

	// An index by digest: its manifests come along, no tag is set.
	d, err = tr.rg.CopyArtifact(ctx, "src/app", idxDigest.String(), "dst/multi")
	require.NoError(t, err)
	assert.Equal(t, idxDigest, d)
	arts, total, err := tr.rg.ListArtifacts(ctx, "dst/multi", core.Page{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, 3, total)
	for _, a := range arts {
		assert.Empty(t, a.Tags)
	}
	used, err := tr.rg.ProjectUsage(ctx, "dst")
	require.NoError(t, err)
	assert.Positive(t, used, "the copy counts against the target project")

	_, err = tr.rg.CopyArtifact(ctx, "src/app", "nope", "dst/app")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = tr.rg.CopyArtifact(ctx, "src/app", "v1", "Bad Name")
	assert.ErrorIs(t, err, core.ErrInvalid)

	// The push gate decides a copy as it decides a push.
	_, err = tr.rg.CopyArtifact(ctx, "src/app", "v1", "dst/frozen")
	require.Error(t, err)
	_, _, err = tr.rg.ListArtifacts(ctx, "dst/frozen", core.Page{Limit: 10})
	assert.ErrorIs(t, err, ErrNotFound, "nothing stored in the target, not even blob links as a repository")
}

// limitOf limits one project's storage.
type limitOf struct {
	project string
	limit   int64
}

func (q limitOf) StorageLimit(_ context.Context, project string) (int64, error) {
	if project == q.project {
		return q.limit, nil
	}
	return -1, nil
}
func (limitOf) QuotaNotice(context.Context, QuotaNotice) {}

func TestCopyArtifactQuota(t *testing.T) { onEngines(t, testCopyArtifactQuota) }

// A copy counts against the target project's quota like a push: over
// it, the copy is refused and the usage stays exact.
func testCopyArtifactQuota(t *testing.T) {
	tr := newTestRegistry(t, WithQuotas(limitOf{project: "small", limit: 300}))
	ctx := t.Context()
	img := tr.pushImage("src/app", "v1", 2) // two 256-byte layers
	_, err := tr.rg.CopyArtifact(ctx, "src/app", "v1", "small/app")
	require.Error(t, err)
	assert.Equal(t, tr.recount("small"), tr.usage("small"))
	assert.LessOrEqual(t, tr.usage("small"), int64(300))
	_, err = tr.rg.GetArtifact(ctx, "small/app", "v1")
	assert.ErrorIs(t, err, ErrNotFound)

	_, err = tr.rg.CopyArtifact(ctx, "src/app", "v1", "big/app")
	require.NoError(t, err)
	assert.Equal(t, imageBytes(img), tr.usage("big"))
}

// TestCopyArtifactAsksThePullGate: a copy reads its source as a pull
// does, so what the pull gates refuse (a vulnerable or unsigned image)
// cannot be copied out to a project without those gates.
func TestCopyArtifactAsksThePullGate(t *testing.T) {
	var asked []string
	gate := PullGateFunc(func(_ context.Context, tg Target) error {
		asked = append(asked, tg.Repository+" "+tg.Reference)
		if tg.Repository == "locked/app" {
			return Denied("blocked: 2 critical vulnerabilities")
		}
		return nil
	})
	tr := newTestRegistry(t, WithPullGate(gate))
	ctx := t.Context()
	tr.pushImage("locked/app", "v1", 1)
	tr.pushImage("open/app", "v1", 1)

	_, err := tr.rg.CopyArtifact(ctx, "locked/app", "v1", "free/app")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "blocked: 2 critical vulnerabilities")
	assert.Equal(t, http.StatusNotFound, tr.getManifest("free/app", "v1").Status, "nothing copied")

	_, err = tr.rg.CopyArtifact(ctx, "open/app", "v1", "free/app")
	require.NoError(t, err)
	assert.Contains(t, asked, "open/app v1")
}
