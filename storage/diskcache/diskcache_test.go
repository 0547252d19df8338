package diskcache_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/diskcache"
	"github.com/berthlabs/berth/storage/filesystem"
	"github.com/berthlabs/berth/storage/memory"
	"github.com/berthlabs/berth/storage/storagetest"
)

// The suite's blobs all fit, its 64 MiB one exactly (a quarter of the cache).
func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Driver { return open(t, memory.New(), t.TempDir(), 256<<20) })
}

// A cache of 64 bytes evicts at every fill and streams most blobs from remote.
func TestConformanceTinyCache(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Driver { return open(t, memory.New(), t.TempDir(), 64) })
}

// Both the remote (a filesystem driver) and the cache are reopened.
func TestRestartConformance(t *testing.T) {
	storagetest.RunRestart(t, func(t *testing.T, dir string) storage.Driver {
		remote, err := filesystem.New(filepath.Join(dir, "remote"), filesystem.WithoutFsync())
		require.NoError(t, err)
		return open(t, remote, filepath.Join(dir, "cache"), 1<<20)
	})
}

func TestHitAfterMiss(t *testing.T) {
	r, dir := newRemote(), t.TempDir()
	d := open(t, r, dir, 1<<20)
	dgst := put(t, d, "hello, cache")

	for range 3 {
		content, isFile := read(t, d, dgst)
		assert.Equal(t, "hello, cache", content)
		assert.True(t, isFile, "an *os.File, for sendfile and Range")
	}
	assert.Equal(t, int64(1), r.opens.Load(), "fetched once")
	assert.Equal(t, []digest.Digest{dgst}, cached(t, dir))
	assert.Equal(t, diskcache.Stats{Hits: 2, Misses: 1, HitBytes: 24, Fills: 1, Files: 1, Bytes: 12}, d.Stats())
	assert.Empty(t, temps(t, dir))
}

func TestConcurrentOpensFetchOnce(t *testing.T) {
	r, dir, d, dgst := gated(t, "popular layer")

	const n = 16
	var wg sync.WaitGroup
	results := make([]string, n)
	files := make([]bool, n)
	for i := range n {
		wg.Go(func() { results[i], files[i] = read(t, d, dgst) })
	}
	waitFor(t, func() bool { return d.Stats().Misses == n }, "every Open waits on the one fetch")
	close(r.gate)
	wg.Wait()

	for i := range n {
		assert.Equal(t, "popular layer", results[i])
		assert.True(t, files[i])
	}
	assert.Equal(t, int64(1), r.opens.Load())
	st := d.Stats()
	assert.Equal(t, int64(1), st.Fills)
	assert.Equal(t, int64(0), st.Hits)
	assert.Equal(t, []digest.Digest{dgst}, cached(t, dir))
}

func TestMismatchIsNotCached(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func([]byte) []byte
	}{
		{"SameLength", func(b []byte) []byte { return []byte(strings.ToUpper(string(b))) }},
		{"Longer", func(b []byte) []byte { return append(b, '!') }},
		{"Shorter", func(b []byte) []byte { return b[:len(b)-1] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := newRemote(), t.TempDir()
			d := open(t, r, dir, 1<<20)
			dgst := put(t, d, "genuine content")
			r.tamper = tc.tamper

			for range 2 {
				_, err := d.Open(t.Context(), dgst)
				require.ErrorIs(t, err, diskcache.ErrCorrupt)
				assert.ErrorContains(t, err, dgst.String())
			}
			assert.Equal(t, int64(2), r.opens.Load(), "a failed fetch caches nothing: the next Open fetches again")
			assert.Empty(t, cached(t, dir))
			assert.Empty(t, temps(t, dir))
			assert.Zero(t, d.Stats().Bytes)

			r.tamper = nil
			content, isFile := read(t, d, dgst)
			assert.Equal(t, "genuine content", content)
			assert.True(t, isFile)
		})
	}
}

func TestFailedFetchLeavesNoFile(t *testing.T) {
	r, dir := newRemote(), t.TempDir()
	d := open(t, r, dir, 1<<20)
	dgst := put(t, d, strings.Repeat("0123456789", 100))
	r.failAt = 500

	_, err := d.Open(t.Context(), dgst)
	require.ErrorIs(t, err, errReset)
	assert.Empty(t, cached(t, dir))
	assert.Empty(t, temps(t, dir))

	r.failAt = 0
	content, _ := read(t, d, dgst)
	assert.Equal(t, strings.Repeat("0123456789", 100), content)
}

// blob20 is the i-th of a series of 20-byte blobs.
func blob20(i int) string { return fmt.Sprintf("blob %02d %s", i, strings.Repeat(".", 12)) }

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	r, dir := newRemote(), t.TempDir()
	d := open(t, r, dir, 100) // five 20-byte blobs; the object limit is 25
	var dgsts []digest.Digest
	for i := range 8 {
		dgsts = append(dgsts, put(t, r, blob20(i)))
	}
	for _, dgst := range dgsts[:5] {
		read(t, d, dgst)
	}
	require.ElementsMatch(t, dgsts[:5], cached(t, dir))
	read(t, d, dgsts[0]) // 1 is the least recently used now

	read(t, d, dgsts[5])
	assert.ElementsMatch(t, []digest.Digest{dgsts[0], dgsts[2], dgsts[3], dgsts[4], dgsts[5]}, cached(t, dir))
	read(t, d, dgsts[6])
	read(t, d, dgsts[7])
	assert.ElementsMatch(t, []digest.Digest{dgsts[0], dgsts[4], dgsts[5], dgsts[6], dgsts[7]}, cached(t, dir))

	st := d.Stats()
	assert.Equal(t, int64(3), st.Evictions)
	assert.Equal(t, int64(100), st.Bytes)
	assert.Equal(t, 5, st.Files)
	assert.Empty(t, temps(t, dir), "evicted files are removed")

	opens := r.opens.Load()
	content, isFile := read(t, d, dgsts[0])
	assert.Equal(t, blob20(0), content)
	assert.True(t, isFile)
	assert.Equal(t, opens, r.opens.Load(), "the recently used blob was kept")
}

func TestEvictedFileReadsToTheEnd(t *testing.T) {
	r, dir := newRemote(), t.TempDir()
	d := open(t, r, dir, 40, diskcache.WithMaxObjectSize(40))
	first := strings.Repeat("a", 15) + strings.Repeat("b", 15)
	a, b := put(t, r, first), put(t, r, strings.Repeat("c", 30))

	rc, err := d.Open(t.Context(), a)
	require.NoError(t, err)
	defer rc.Close()
	head := make([]byte, 15)
	_, err = io.ReadFull(rc, head)
	require.NoError(t, err)

	read(t, d, b) // evicts a while it is open
	require.Equal(t, []digest.Digest{b}, cached(t, dir))
	_, err = os.Stat(blobPath(dir, a))
	require.ErrorIs(t, err, os.ErrNotExist)

	tail, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, first, string(head)+string(tail))
	_, err = rc.Seek(0, io.SeekStart) // Range requests too
	require.NoError(t, err)
	all, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, first, string(all))
	assert.LessOrEqual(t, d.Stats().Bytes, int64(40))
}

func TestRestartAdoptsFiles(t *testing.T) {
	r, dir := newRemote(), t.TempDir()
	d := open(t, r, dir, 1<<20)
	var dgsts []digest.Digest // a, b, c
	for i := range 3 {
		dgsts = append(dgsts, put(t, d, blob20(i)))
		read(t, d, dgsts[i])
	}
	a, b, c := dgsts[0], dgsts[1], dgsts[2]
	corrupt := put(t, r, blob20(3)) // on disk with the wrong content

	// What a crash leaves, and what does not belong.
	must := func(err error) { t.Helper(); require.NoError(t, err) }
	must(os.WriteFile(filepath.Join(dir, "tmp", "fill-123"), []byte("half a blo"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "sha256", "not-a-digest"), []byte("x"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "sha256", strings.ToUpper(a.Encoded())), []byte("x"), 0o600))
	must(os.WriteFile(blobPath(dir, corrupt), []byte("torn"), 0o600))
	// Recency as mtimes: a oldest, then c, b, and the torn file newest.
	base := time.Now().Add(-time.Hour)
	for i, dgst := range []digest.Digest{a, c, b, corrupt} {
		at := base.Add(time.Duration(i) * time.Minute)
		must(os.Chtimes(blobPath(dir, dgst), at, at))
	}

	// 44 bytes: b, c and the torn file fit, a (the oldest) goes.
	r2 := &remote{Driver: r.Driver}
	d2 := open(t, r2, dir, 44, diskcache.WithMaxObjectSize(20))
	assert.Empty(t, temps(t, dir), "tmp is emptied")
	assert.ElementsMatch(t, []digest.Digest{b, c, corrupt}, cached(t, dir), "junk and the oldest removed")
	st := d2.Stats()
	assert.Equal(t, 3, st.Files)
	assert.Equal(t, int64(44), st.Bytes)

	for _, dgst := range []digest.Digest{b, c, b} {
		content, isFile := read(t, d2, dgst)
		assert.Equal(t, blob20(slices.Index(dgsts, dgst)), content)
		assert.True(t, isFile)
	}
	assert.Zero(t, r2.opens.Load(), "adopted files are served from disk")
	assert.Equal(t, int64(1), d2.Stats().Hits, "the first Open of each verifies it, the second b is a hit")

	content, isFile := read(t, d2, corrupt)
	assert.Equal(t, blob20(3), content, "a file not matching its name is fetched again")
	assert.True(t, isFile)
	assert.Equal(t, int64(1), r2.opens.Load())
	assert.ElementsMatch(t, []digest.Digest{b, corrupt}, cached(t, dir), "20 bytes more than the torn file: c, least recently used, goes")
	assert.Equal(t, int64(40), d2.Stats().Bytes)
}

func TestDeleteDropsTheCachedCopy(t *testing.T) {
	r, dir := newRemote(), t.TempDir()
	d := open(t, r, dir, 1<<20)
	dgst := put(t, d, "garbage collected")
	read(t, d, dgst)
	require.Equal(t, []digest.Digest{dgst}, cached(t, dir))

	require.NoError(t, d.Delete(t.Context(), dgst))
	assert.Empty(t, cached(t, dir))
	assert.Empty(t, temps(t, dir))
	assert.Zero(t, d.Stats().Bytes)
	_, err := d.Open(t.Context(), dgst)
	assert.ErrorIs(t, err, storage.ErrBlobUnknown)
	_, err = r.Stat(t.Context(), dgst)
	assert.ErrorIs(t, err, storage.ErrBlobUnknown, "deleted remotely too")
}

// A Delete while the blob is being fetched: the fetch completes, but what it
// fetched is not cached.
func TestDeleteDuringFetch(t *testing.T) {
	r, dir, d, dgst := gated(t, "deleted mid-fetch")

	errs := openAsync(t.Context(), d, dgst)
	waitFor(t, func() bool { return r.opens.Load() == 1 }, "")
	require.NoError(t, d.Delete(t.Context(), dgst))
	close(r.gate)

	require.ErrorIs(t, <-errs, storage.ErrBlobUnknown)
	assert.Empty(t, cached(t, dir))
	assert.Empty(t, temps(t, dir))
}

func TestLargeBlobsBypass(t *testing.T) {
	r, dir := newRemote(), t.TempDir()
	d := open(t, r, dir, 100) // the object limit is 25 bytes
	large := put(t, d, strings.Repeat("L", 26))

	for range 2 {
		content, isFile := read(t, d, large)
		assert.Equal(t, strings.Repeat("L", 26), content)
		assert.False(t, isFile, "streamed from remote")
	}
	assert.Empty(t, cached(t, dir))
	assert.Empty(t, temps(t, dir))
	assert.Equal(t, int64(3), r.opens.Load(), "one look at its size, then one Open per read")
	assert.Equal(t, diskcache.Stats{Misses: 2}, d.Stats())

	d = open(t, r, t.TempDir(), 100, diskcache.WithMaxObjectSize(26))
	read(t, d, large)
	_, isFile := read(t, d, large)
	assert.True(t, isFile, "within WithMaxObjectSize")
}

// An Open whose context ends stops waiting; the fetch stops when no Open
// waits for it any more, and leaves nothing behind.
func TestAbandonedFetchIsCancelled(t *testing.T) {
	r, dir, d, dgst := gated(t, "nobody waits")

	ctx, cancel := context.WithCancel(t.Context())
	errs := openAsync(ctx, d, dgst)
	waitFor(t, func() bool { return r.opens.Load() == 1 }, "")
	cancel()
	require.ErrorIs(t, <-errs, context.Canceled)
	waitFor(t, func() bool { return r.returned.Load() == 1 }, "the remote Open sees the fill's context end")
	assert.Empty(t, cached(t, dir))
	assert.Empty(t, temps(t, dir))

	close(r.gate)
	content, isFile := read(t, d, dgst)
	assert.Equal(t, "nobody waits", content)
	assert.True(t, isFile)
	assert.Equal(t, int64(2), r.opens.Load())
}

// The fetch is not cut short by the Open that started it giving up while
// another still waits.
func TestFetchOutlivesItsFirstOpener(t *testing.T) {
	r, dir, d, dgst := gated(t, "shared fetch")

	ctx, cancel := context.WithCancel(t.Context())
	first := openAsync(ctx, d, dgst)
	waitFor(t, func() bool { return d.Stats().Misses == 1 }, "")
	second := make(chan string, 1)
	go func() {
		content, _ := read(t, d, dgst)
		second <- content
	}()
	waitFor(t, func() bool { return d.Stats().Misses == 2 }, "")
	cancel()
	require.ErrorIs(t, <-first, context.Canceled)
	close(r.gate)
	assert.Equal(t, "shared fetch", <-second)
	assert.Equal(t, int64(1), r.opens.Load())
	assert.Equal(t, []digest.Digest{dgst}, cached(t, dir))
}

func TestNewRefusesBadArguments(t *testing.T) {
	_, err := diskcache.New(nil, t.TempDir(), 1<<20)
	assert.Error(t, err)
	_, err = diskcache.New(memory.New(), t.TempDir(), 0)
	assert.Error(t, err)
}
