package registry

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
)

// gcClock lets a test move the registry's time past the grace window.
func (tr *testRegistry) advance(d time.Duration) {
	now := tr.rg.now()
	tr.rg.now = func() time.Time { return now.Add(d) }
}

func (tr *testRegistry) gc(opts GCOptions) GCResult {
	tr.t.Helper()
	res, err := tr.rg.CollectGarbage(tr.t.Context(), opts)
	require.NoError(tr.t, err)
	return res
}

func (tr *testRegistry) blobStored(d digest.Digest) bool {
	tr.t.Helper()
	_, err := tr.rg.blobs.Stat(tr.t.Context(), d)
	if err != nil {
		require.ErrorIs(tr.t, err, storage.ErrBlobUnknown)
		return false
	}
	return true
}

func TestGCFreesWhatADeletedManifestHeld(t *testing.T) {
	onEveryEngine(t, testGCFreesWhatADeletedManifestHeld)
}

func testGCFreesWhatADeletedManifestHeld(t *testing.T) {
	tr := newTestRegistry(t)
	kept := tr.pushImage("lib/app", "v1", 2)
	doomed := tr.pushImage("lib/app", "v2", 2, func(m *v1.Manifest) {
		m.Layers = append(m.Layers, descriptorOf(v1.MediaTypeImageLayerGzip, kept.Layers[0])) // shared
	})
	doomed.Layers = append(doomed.Layers, kept.Layers[0])
	blobs, untagged, err := tr.rg.GarbageQueue(t.Context())
	require.NoError(t, err)
	assert.Zero(t, blobs, "a pushed image's blobs are referenced: nothing queued")
	assert.Zero(t, untagged)

	require.NoError(t, tr.rg.DeleteArtifact(t.Context(), "lib/app", doomed.Digest))
	assert.Equal(t, GCResult{Kept: 1, Deferred: 3}, tr.gc(GCOptions{}),
		"inside the grace window nothing goes; the shared layer is referenced, and leaves the queue")

	tr.advance(3 * time.Hour)
	dry := tr.gc(GCOptions{DryRun: true})
	assert.Equal(t, 3, dry.BlobsDeleted, "config and two own layers; the shared layer is kept")
	assert.Equal(t, int64(len(doomed.Config)+512), dry.BytesFreed)
	assert.True(t, tr.blobStored(digest.FromBytes(doomed.Config)), "a dry run changes nothing")

	var lines []string
	res := tr.gc(GCOptions{Log: func(l string) { lines = append(lines, l) }})
	assert.Equal(t, dry.BlobsDeleted, res.BlobsDeleted)
	assert.Equal(t, dry.BytesFreed, res.BytesFreed)
	assert.Zero(t, res.Kept)
	assert.Len(t, lines, 2+3)
	for _, b := range append([][]byte{doomed.Config}, doomed.Layers[:2]...) {
		assert.False(t, tr.blobStored(digest.FromBytes(b)))
		tr.requireNoBlob("lib/app", digest.FromBytes(b))
	}
	for _, b := range append([][]byte{kept.Config}, kept.Layers...) {
		assert.True(t, tr.blobStored(digest.FromBytes(b)))
	}
	require.Equal(t, http.StatusOK, tr.getManifest("lib/app", "v1").Status)
	blobs, _, err = tr.rg.GarbageQueue(t.Context())
	require.NoError(t, err)
	assert.Zero(t, blobs, "the queue is empty after a run")
	rep, err := tr.rg.Check(t.Context())
	require.NoError(t, err)
	assert.True(t, rep.OK(false), "%v %v", rep.Problems, rep.Missing)
	assert.Equal(t, GCResult{}, tr.gc(GCOptions{}), "a second run finds nothing")
}

func TestGCGraceWindowProtectsFreshUploads(t *testing.T) {
	onEveryEngine(t, testGCGraceWindowProtectsFreshUploads)
}

func testGCGraceWindowProtectsFreshUploads(t *testing.T) {
	tr := newTestRegistry(t)
	orphan := tr.pushBlob("lib/app", randomBytes(100)) // a client that never pushed its manifest
	assert.Equal(t, GCResult{Deferred: 1}, tr.gc(GCOptions{}))
	assert.True(t, tr.blobStored(orphan))

	tr.advance(3 * time.Hour)
	res := tr.gc(GCOptions{})
	assert.Equal(t, 1, res.BlobsDeleted)
	assert.False(t, tr.blobStored(orphan))

	// A re-upload of collected bytes works, and is fresh again.
	again := tr.pushBlob("lib/app", randomBytes(100))
	assert.Equal(t, GCResult{Deferred: 1}, tr.gc(GCOptions{}))
	assert.True(t, tr.blobStored(again))
}

func TestGCDeleteUntagged(t *testing.T) { onEveryEngine(t, testGCDeleteUntagged) }

func testGCDeleteUntagged(t *testing.T) {
	tr := newTestRegistry(t)
	byDigest := tr.pushImage("lib/app", "", 1)
	retagged := tr.pushImage("lib/app", "latest", 1)
	tr.pushImage("lib/app", "latest", 1) // moves latest off retagged

	// A tagged index keeps its untagged children; a signature of a present
	// subject stays with it.
	childA, childB := tr.pushImage("lib/multi", "", 1), tr.pushImage("lib/multi", "", 1)
	idx := indexOf(t, v1.MediaTypeImageIndex, descriptorOf(v1.MediaTypeImageManifest, childA.Manifest),
		descriptorOf(v1.MediaTypeImageManifest, childB.Manifest))
	tr.pushManifest("lib/multi", "1.0", v1.MediaTypeImageIndex, idx)
	sig := tr.pushImage("lib/multi", "", 1, func(m *v1.Manifest) {
		s := descriptorOf(v1.MediaTypeImageManifest, childA.Manifest)
		m.Subject = &s
		m.ArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"
	})

	tr.advance(3 * time.Hour)
	assert.Zero(t, tr.gc(GCOptions{}).ManifestsDeleted, "untagged manifests stay unless asked")
	res := tr.gc(GCOptions{DeleteUntagged: true})
	assert.Equal(t, 2, res.ManifestsDeleted, "the by-digest push and the one latest moved off")
	assert.Equal(t, 2*2, res.BlobsDeleted, "their configs and layers, freed in the same run")
	tr.requireNoManifest("lib/app", byDigest.Digest.String())
	tr.requireNoManifest("lib/app", retagged.Digest.String())
	for _, m := range []testImage{childA, childB, sig} {
		require.Equal(t, http.StatusOK, tr.getManifest("lib/multi", m.Digest.String()).Status)
	}
	require.Equal(t, http.StatusOK, tr.getManifest("lib/app", "latest").Status)

	// Without its index, the children are untagged garbage too; the
	// signature follows its subject.
	require.NoError(t, tr.rg.DeleteArtifact(t.Context(), "lib/multi", digest.FromBytes(idx)))
	// The signature is queued when its subject goes: in the same run when
	// its digest sorts after the subject's, else in the next.
	total := 0
	for range 3 {
		total += tr.gc(GCOptions{DeleteUntagged: true, GraceWindow: -1}).ManifestsDeleted
	}
	assert.Equal(t, 3, total, "children A and B, and the signature once its subject is gone")
	rep, err := tr.rg.Check(t.Context())
	require.NoError(t, err)
	assert.True(t, rep.OK(false), "%v %v", rep.Problems, rep.Missing)
}

// A run cut off after committing a removal and before deleting the bytes
// leaves a consistent store, and the next run finishes the job.
func TestGCFinishesARemovalCutOff(t *testing.T) { onEveryEngine(t, testGCFinishesARemovalCutOff) }

func testGCFinishesARemovalCutOff(t *testing.T) {
	tr := newTestRegistry(t)
	orphan := tr.pushBlob("lib/app", randomBytes(64))
	// The state a crash between the commit and the byte removal leaves.
	err := tr.exec(`DELETE FROM registry_repo_blobs WHERE digest = ?`, orphan.String())
	require.NoError(t, err)
	err = tr.exec(`UPDATE registry_gc_blobs SET deleting = 1 WHERE digest = ?`, orphan.String())
	require.NoError(t, err)
	tr.requireNoBlob("lib/app", orphan)
	rep, err := tr.rg.Check(t.Context())
	require.NoError(t, err)
	assert.True(t, rep.OK(false), "%v", rep.Problems)

	res := tr.gc(GCOptions{})
	assert.Equal(t, 1, res.BlobsDeleted)
	assert.False(t, tr.blobStored(orphan))
	blobs, _, err := tr.rg.GarbageQueue(t.Context())
	require.NoError(t, err)
	assert.Zero(t, blobs)
}

// Held blobs (a chart's archive in the shared store) are never removed.
func TestGCKeepsHeldBlobs(t *testing.T) { onEveryEngine(t, testGCKeepsHeldBlobs) }

func testGCKeepsHeldBlobs(t *testing.T) {
	var holder holderFunc = func(d digest.Digest) bool { return true }
	tr := newTestRegistry(t, WithBlobHolder(holder))
	d := tr.pushBlob("lib/app", randomBytes(10))
	tr.advance(3 * time.Hour)
	assert.Equal(t, GCResult{Kept: 1}, tr.gc(GCOptions{}))
	assert.True(t, tr.blobStored(d))
	require.NoError(t, tr.rg.ReleaseBlob(t.Context(), d))
	blobs, _, err := tr.rg.GarbageQueue(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, blobs, "released: queued again")
}

// MarkGarbage rebuilds a lost queue from the whole store.
func TestGCMarkRebuildsTheQueue(t *testing.T) { onEveryEngine(t, testGCMarkRebuildsTheQueue) }

func testGCMarkRebuildsTheQueue(t *testing.T) {
	tr := newTestRegistry(t)
	live := tr.pushImage("lib/app", "v1", 1)
	orphan := tr.pushBlob("lib/app", randomBytes(10))
	tr.pushImage("lib/app", "", 1)
	// Bytes no repository links: a crash between writing a blob and
	// linking it, or a restore, leaves such files.
	unlinked := randomBytes(20)
	_, err := storage.Put(t.Context(), tr.rg.blobs, digest.FromBytes(unlinked), bytes.NewReader(unlinked))
	require.NoError(t, err)
	require.NoError(t, tr.exec(`DELETE FROM registry_gc_blobs`))
	require.NoError(t, tr.exec(`DELETE FROM registry_gc_untagged`))
	n, err := tr.rg.MarkGarbage(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the orphan blob, the untagged manifest and the unlinked file")
	n, err = tr.rg.MarkGarbage(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "queued once")
	tr.advance(3 * time.Hour)
	res := tr.gc(GCOptions{DeleteUntagged: true})
	assert.Equal(t, 1, res.ManifestsDeleted)
	assert.Equal(t, 1+2+1, res.BlobsDeleted)
	assert.False(t, tr.blobStored(orphan))
	assert.False(t, tr.blobStored(digest.FromBytes(unlinked)))
	assert.True(t, tr.blobStored(digest.FromBytes(live.Config)), "live content stays")
	assert.True(t, tr.blobStored(digest.FromBytes(live.Layers[0])), "live content stays")
}

// A push racing a run either keeps its blob or fails cleanly: the manifest
// never points at missing bytes.
func TestGCRacingPushFailsCleanly(t *testing.T) { onEveryEngine(t, testGCRacingPushFailsCleanly) }

func testGCRacingPushFailsCleanly(t *testing.T) {
	tr := newTestRegistry(t)
	img := randomImage(t, 1)
	tr.pushImageBlobs("lib/app", img)
	tr.advance(3 * time.Hour)
	require.Equal(t, 2, tr.gc(GCOptions{}).BlobsDeleted, "the blobs' links were old and nothing referenced them")
	r := tr.putManifest("lib/app", "v1", v1.MediaTypeImageManifest, img.Manifest)
	requireError(t, r, http.StatusBadRequest, CodeManifestBlobUnknown)
	tr.pushImageBlobs("lib/app", img) // the client uploads again
	tr.pushManifest("lib/app", "v1", v1.MediaTypeImageManifest, img.Manifest)
	require.Equal(t, GCResult{}, tr.gc(GCOptions{}))
	rep, err := tr.rg.Check(t.Context())
	require.NoError(t, err)
	assert.True(t, rep.OK(false), "%v %v", rep.Problems, rep.Missing)
}

type holderFunc func(digest.Digest) bool

func (f holderFunc) HoldsBlob(_ context.Context, d digest.Digest) (bool, error) { return f(d), nil }

// exec runs one statement on the registry's database.
func (tr *testRegistry) exec(q string, args ...any) error {
	return tr.rg.db.Write(tr.t.Context(), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(tr.t.Context(), q, args...)
		return err
	})
}

// failingRemoval is a blob store whose removal of one digest fails.
type failingRemoval struct {
	storage.Driver
	fail digest.Digest
}

func (f *failingRemoval) Delete(ctx context.Context, d digest.Digest) error {
	if d == f.fail {
		return errors.New("disk says no")
	}
	return f.Driver.Delete(ctx, d)
}

// Removals run several at a time; one that fails ends the run with an
// error naming the blob, the others are done, and the failed one stays
// queued until a later run removes it.
func TestGCRemovalFailureLeavesTheBlobQueued(t *testing.T) {
	onEveryEngine(t, testGCRemovalFailureLeavesTheBlobQueued)
}

func testGCRemovalFailureLeavesTheBlobQueued(t *testing.T) {
	tr := newTestRegistry(t)
	var orphans []digest.Digest
	for range 20 {
		orphans = append(orphans, tr.pushBlob("lib/app", randomBytes(64)))
	}
	tr.advance(3 * time.Hour)
	stuck := orphans[7]
	store := tr.rg.blobs
	tr.rg.blobs = &failingRemoval{Driver: store, fail: stuck}

	_, err := tr.rg.CollectGarbage(t.Context(), GCOptions{})
	require.ErrorContains(t, err, stuck.String())
	for _, d := range orphans {
		assert.Equal(t, d == stuck, tr.blobStored(d), "blob %s", d)
	}
	blobs, _, err := tr.rg.GarbageQueue(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, blobs, "only the blob whose removal failed stays queued")
	rep, err := tr.rg.Check(t.Context())
	require.NoError(t, err)
	assert.True(t, rep.OK(false), "%v", rep.Problems)

	tr.rg.blobs = store
	res := tr.gc(GCOptions{})
	assert.Equal(t, 1, res.BlobsDeleted)
	assert.False(t, tr.blobStored(stuck))
}
