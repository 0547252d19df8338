package chart

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeCollector records what the chart repository locks and releases.
type fakeCollector struct {
	mu       sync.Mutex
	locked   []digest.Digest
	held     map[digest.Digest]bool
	released []digest.Digest
}

func (f *fakeCollector) LockBlob(d digest.Digest) func() {
	f.mu.Lock()
	f.locked = append(f.locked, d)
	f.held[d] = true
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.held, d)
		f.mu.Unlock()
	}
}

func (f *fakeCollector) ReleaseBlob(_ context.Context, d digest.Digest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, d)
	return nil
}

func TestChartsCoordinateWithGarbageCollection(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		gc := &fakeCollector{held: map[digest.Digest]bool{}}
		r, _ := newRepo(t, WithBlobCoordinator(gc))
		first := makeChart(t, "app", "0.1.0")
		v, err := r.Upload(ctx, "p", bytes.NewReader(first), nil, false)
		require.NoError(t, err)
		d1 := digest.NewDigestFromEncoded(digest.SHA256, v.Digest)
		assert.Equal(t, []digest.Digest{d1}, gc.locked, "the archive is stored under the collector's lock")
		assert.Empty(t, gc.held, "and the lock is released once recorded")
		held, err := r.HoldsBlob(ctx, d1)
		require.NoError(t, err)
		assert.True(t, held)

		// A forced replacement lets the old archive go.
		second := tgz(t, entry{name: "app/Chart.yaml", body: chartYAML("app", "0.1.0") + "deprecated: true\n"})
		v2, err := r.Upload(ctx, "p", bytes.NewReader(second), nil, true)
		require.NoError(t, err)
		assert.Equal(t, []digest.Digest{d1}, gc.released)
		held, err = r.HoldsBlob(ctx, d1)
		require.NoError(t, err)
		assert.False(t, held)

		require.NoError(t, r.Delete(ctx, "p", "app", "0.1.0"))
		d2 := digest.NewDigestFromEncoded(digest.SHA256, v2.Digest)
		assert.Equal(t, []digest.Digest{d1, d2}, gc.released)
		held, err = r.HoldsBlob(ctx, d2)
		require.NoError(t, err)
		assert.False(t, held)
	})
}
