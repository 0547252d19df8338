package fanout_test

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/proxy/fanout"
)

// Sixteen clients of one uncached blob: one fetch, every reader gets every
// byte from byte 0, also one that joins when half the bytes have arrived.
func TestSixteenReadersShareOneFetch(t *testing.T) {
	data := randomBytes(32 << 20)
	want := sha256.Sum256(data)
	up := newUpstream(data)
	up.pauseAt = len(data) / 2
	var st store
	g, _ := newGroup(t)
	ctx := context.Background()

	early := make([]*fanout.Reader, 15)
	var wg sync.WaitGroup
	for i := range early {
		wg.Go(func() {
			r, err := g.Open(ctx, "blob", up.fetch, st.commit)
			assert.NoError(t, err)
			early[i] = r
		})
	}
	wg.Wait()
	for _, r := range early {
		require.NotNil(t, r)
		defer r.Close()
		require.Equal(t, int64(len(data)), r.Size())
	}

	// Reading the first half proves it is in the spool before the late join.
	firstHalf := make([]byte, len(data)/2)
	_, err := io.ReadFull(early[0], firstHalf)
	require.NoError(t, err)
	late, err := g.Open(ctx, "blob", neverFetch(t), st.commit)
	require.NoError(t, err)
	defer late.Close()
	close(up.resume)

	readers := append([]*fanout.Reader{late}, early...)
	sums := make([][32]byte, len(readers))
	for i, r := range readers {
		wg.Go(func() {
			h := sha256.New()
			if r == early[0] {
				h.Write(firstHalf)
			}
			_, err := io.Copy(h, r)
			assert.NoError(t, err)
			sums[i] = [32]byte(h.Sum(nil))
		})
	}
	wg.Wait()
	for i, sum := range sums {
		assert.Equal(t, want, sum, "reader %d", i)
	}

	closeGroup(t, g) // waits for Commit
	assert.Equal(t, int32(1), up.calls.Load())
	assert.Equal(t, fanout.Stats{Fetches: 1, Joins: 15}, g.Stats())
	calls, commitSums, sizes := st.snapshot()
	assert.Equal(t, 1, calls)
	assert.Equal(t, [][32]byte{want}, commitSums)
	assert.Equal(t, []int64{int64(len(data))}, sizes)
}

// A reader gets the first chunk while the body has not delivered the rest.
func TestReaderGetsBytesBeforeTheBodyEnds(t *testing.T) {
	data := randomBytes(1 << 20)
	up := newUpstream(data)
	up.pauseAt = 64 << 10 // the body stops after its first chunk until resumed
	g, _ := newGroup(t)

	r, err := g.Open(context.Background(), "blob", up.fetch, nil)
	require.NoError(t, err)
	defer r.Close()
	first := make([]byte, up.pauseAt)
	_, err = io.ReadFull(r, first)
	require.NoError(t, err)
	require.Equal(t, data[:up.pauseAt], first)
	require.Equal(t, 1, g.Stats().InFlight, "the fill is still waiting on the body")

	close(up.resume)
	rest, err := readAll(r, 32<<10)
	require.NoError(t, err)
	require.Equal(t, data[up.pauseAt:], rest)
}

// The client whose Open started the fill hangs up: the fill goes on for
// the other reader and for the cache.
func TestFillOutlivesTheOpenersContext(t *testing.T) {
	data := randomBytes(1 << 20)
	up := newUpstream(data)
	up.pauseAt = len(data) / 2
	var st store
	g, _ := newGroup(t)

	openerCtx, hangUp := context.WithCancel(context.Background())
	defer hangUp()
	opener, err := g.Open(openerCtx, "blob", up.fetch, st.commit)
	require.NoError(t, err)
	defer opener.Close()
	other, err := g.Open(context.Background(), "blob", neverFetch(t), st.commit)
	require.NoError(t, err)
	defer other.Close()

	_, err = io.ReadFull(opener, make([]byte, 1024))
	require.NoError(t, err)
	hangUp()
	_, err = opener.Read(make([]byte, 1024))
	require.ErrorIs(t, err, context.Canceled)

	close(up.resume)
	got, err := readAll(other, 32<<10)
	require.NoError(t, err)
	require.Equal(t, data, got)
	closeGroup(t, g)
	calls, sums, _ := st.snapshot()
	require.Equal(t, 1, calls)
	require.Equal(t, sha256.Sum256(data), sums[0])
}

// Commit may rename the spool into storage while a reader has not read a
// byte yet; the reader still gets everything, after the group closed too.
func TestCommitMayRenameTheSpool(t *testing.T) {
	data := randomBytes(300 << 10)
	up := newUpstream(data)
	g, _ := newGroup(t)
	stored := filepath.Join(t.TempDir(), "blob")
	committed := make(chan struct{})
	rename := func(_ context.Context, spool *os.File, size int64) error {
		defer close(committed)
		off, err := spool.Seek(0, io.SeekCurrent)
		if err != nil || off != 0 || size != int64(len(data)) {
			t.Errorf("commit got offset %d (%v) and size %d, want 0 and %d", off, err, size, len(data))
		}
		return os.Rename(spool.Name(), stored)
	}

	r, err := g.Open(context.Background(), "blob", up.fetch, rename)
	require.NoError(t, err)
	defer r.Close()
	<-committed
	closeGroup(t, g)

	got, err := readAll(r, 32<<10)
	require.NoError(t, err)
	require.Equal(t, data, got)
	onDisk, err := os.ReadFile(stored)
	require.NoError(t, err)
	require.Equal(t, data, onDisk)
}

// Once a fill committed, its key is forgotten: the next Open fetches again
// (the caller would have found the content in its store first).
func TestKeyIsFetchedAgainAfterCommit(t *testing.T) {
	up := newUpstream([]byte("content"))
	g, _ := newGroup(t)
	committed := make(chan struct{}, 2)
	commit := func(context.Context, *os.File, int64) error { committed <- struct{}{}; return nil }

	for range 2 {
		r, err := g.Open(context.Background(), "blob", up.fetch, commit)
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.Equal(t, "content", string(got))
		require.NoError(t, r.Close())
		<-committed
		require.Eventually(t, func() bool { return g.Stats().InFlight == 0 }, testWait, testTick)
	}
	require.Equal(t, int32(2), up.calls.Load())
	require.Equal(t, int64(2), g.Stats().Fetches)
}

// A Commit error goes to WithCommitErrors; readers had their bytes and EOF.
func TestCommitErrorIsReported(t *testing.T) {
	errDisk := io.ErrShortWrite
	type report struct {
		key string
		err error
	}
	reports := make(chan report, 2)
	g, _ := newGroup(t, fanout.WithCommitErrors(func(key string, err error) { reports <- report{key, err} }))
	st := store{err: errDisk}
	up := newUpstream([]byte("content"))

	r, err := g.Open(context.Background(), "sha256:abc", up.fetch, st.commit)
	require.NoError(t, err)
	defer r.Close()
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "content", string(got))
	closeGroup(t, g)

	require.Len(t, reports, 1)
	rep := <-reports
	require.Equal(t, "sha256:abc", rep.key)
	require.ErrorIs(t, rep.err, errDisk)
	require.Contains(t, rep.err.Error(), "sha256:abc")
}

func TestReaderCloseIsIdempotentAndEndsReads(t *testing.T) {
	g, _ := newGroup(t)
	r, err := g.Open(context.Background(), "k", newUpstream([]byte("x")).fetch, nil)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.NoError(t, r.Close())
	_, err = r.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrClosed)
}
