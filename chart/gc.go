package chart

import (
	"context"

	"github.com/opencontainers/go-digest"
)

// Charts share the registry's blob store, where garbage collection removes
// what nothing holds. The registry (registry.Registry implements
// BlobCoordinator) serialises a blob's storing and removal; the chart
// repository tells it which blobs it holds and which it let go.

// BlobCoordinator is the garbage collector of the shared blob store, as
// the chart repository needs it.
type BlobCoordinator interface {
	// LockBlob is held while a blob is stored and its reference recorded.
	LockBlob(d digest.Digest) (unlock func())
	// ReleaseBlob says d may have lost its last chart reference.
	ReleaseBlob(ctx context.Context, d digest.Digest) error
}

// WithBlobCoordinator coordinates with the shared store's garbage
// collector: uploads hold each blob's lock until recorded, deletions and
// replacements release their blobs.
func WithBlobCoordinator(c BlobCoordinator) Option { return func(r *Repo) { r.gc = c } }

// HoldsBlob reports whether a chart version (or its provenance) holds d;
// the registry's garbage collection asks it (registry.BlobHolder).
func (r *Repo) HoldsBlob(ctx context.Context, d digest.Digest) (bool, error) {
	var held bool
	err := r.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM chart_versions WHERE digest = ?)
		OR EXISTS (SELECT 1 FROM chart_versions WHERE prov_digest = ?)
		OR EXISTS (SELECT 1 FROM chart_versions_legacy WHERE digest = ?)
		OR EXISTS (SELECT 1 FROM chart_versions_legacy WHERE prov_digest = ?)`,
		d.Encoded(), d.String(), d.Encoded(), d.String()).Scan(&held)
	return held, err
}

// lockBlobs takes the coordinator's locks on ds, in order; the returned
// function releases them.
func (r *Repo) lockBlobs(ds ...digest.Digest) func() {
	if r.gc == nil {
		return func() {}
	}
	var unlocks []func()
	for _, d := range ds {
		if d != "" {
			unlocks = append(unlocks, r.gc.LockBlob(d))
		}
	}
	return func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
}

// release tells the coordinator blobs may be garbage now; a failure is
// logged: the repair scan finds them anyway.
func (r *Repo) release(ctx context.Context, ds ...digest.Digest) {
	if r.gc == nil {
		return
	}
	for _, d := range ds {
		if d == "" {
			continue
		}
		if err := r.gc.ReleaseBlob(context.WithoutCancel(ctx), d); err != nil {
			r.log.WarnContext(ctx, "chart: blob not queued for garbage collection", "digest", d, "err", err)
		}
	}
}
