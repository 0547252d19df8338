package registry

import (
	"context"
	"errors"
	"net/http"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Resolve describes a manifest as the pull gate would see it, by tag and
// by digest, without asking the gate, emitting an event or counting a pull.
func TestResolve(t *testing.T) {
	gateAsked := 0
	gate := PullGateFunc(func(context.Context, Target) error { gateAsked++; return Denied("no pulls") })
	events := &recordedEvents{ch: make(chan Event, 16)}
	tr := newTestRegistry(t, WithPullGate(gate), WithEventSink(events))
	ctx := t.Context()
	img := tr.pushImage("team/app", "v1", 1)
	for range len(events.ch) {
		<-events.ch // the push's events
	}

	for _, ref := range []string{"v1", img.Digest.String()} {
		got, err := tr.rg.Resolve(ctx, "team/app", ref)
		require.NoError(t, err, ref)
		assert.Equal(t, Target{Repository: "team/app", Reference: ref, Digest: img.Digest, MediaType: v1.MediaTypeImageManifest, ArtifactType: v1.MediaTypeImageConfig,
			Size: int64(len(img.Manifest)), Manifest: img.Manifest}, got)
	}
	assert.Zero(t, gateAsked, "Resolve leaves the gate to its caller")
	assert.Empty(t, events.ch, "resolving is not a pull")
	a, err := tr.rg.GetArtifact(ctx, "team/app", "v1")
	require.NoError(t, err)
	assert.True(t, a.PulledAt.IsZero(), "no pull time recorded")

	for name, c := range map[string]struct{ repo, ref string }{
		"unknown tag":        {"team/app", "v2"},
		"unknown repository": {"team/other", "v1"},
		"unknown digest":     {"team/app", "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
	} {
		_, err := tr.rg.Resolve(ctx, c.repo, c.ref)
		assert.ErrorIs(t, err, ErrNotFound, name)
		assert.ErrorContains(t, err, c.repo, name)
	}
	for name, c := range map[string]struct{ repo, ref string }{
		"bad tag":        {"team/app", "-v1"},
		"bad digest":     {"team/app", "sha256:beef"},
		"bad repository": {"Team/App", "v1"},
		"path trick":     {"team/../app", "v1"},
	} {
		_, err := tr.rg.Resolve(ctx, c.repo, c.ref)
		var se *Error
		require.True(t, errors.As(err, &se), "%s: %v", name, err)
		assert.Equal(t, http.StatusBadRequest, se.Status, name)
	}
}
