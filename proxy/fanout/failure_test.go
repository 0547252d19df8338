package fanout_test

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/proxy/fanout"
)

var errUpstream = errors.New("upstream registry.example: 502 Bad Gateway")

// A fetch that fails before any byte fails every Open that joined it, and
// the key is fetched afresh afterwards.
func TestFetchErrorReachesEveryOpen(t *testing.T) {
	g, _ := newGroup(t)
	answer := make(chan struct{})
	failing := func(context.Context) (io.ReadCloser, int64, error) {
		<-answer
		return nil, 0, errUpstream
	}
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = g.Open(context.Background(), "blob", failing, nil)
		})
	}
	require.Eventually(t, func() bool { return g.Stats().Joins == 3 }, testWait, testTick)
	close(answer)
	wg.Wait()
	for _, err := range errs {
		require.ErrorIs(t, err, errUpstream)
		require.Contains(t, err.Error(), "blob")
	}

	up := newUpstream([]byte("content"))
	r, err := g.Open(context.Background(), "blob", up.fetch, nil)
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, int64(2), g.Stats().Fetches)
}

// A body that fails midway, or at its end (a digest mismatch), gives every
// reader the bytes that arrived and then the error, never io.EOF; nothing
// is committed.
func TestBodyErrorReachesEveryReaderAfterItsBytes(t *testing.T) {
	errDigest := errors.New("digest mismatch: want sha256:aaa")
	errReset := errors.New("connection reset by peer")
	for name, tc := range map[string]struct {
		arrived []byte
		err     error
	}{
		"midway": {randomBytes(200 << 10), errReset},
		"at end": {randomBytes(300 << 10), errDigest},
	} {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(tc.arrived)
			up.size = -1
			up.end = tc.err
			up.pauseAt = len(tc.arrived) // all readers join before the error
			var st store
			g, _ := newGroup(t)

			readers := make([]*fanout.Reader, 3)
			for i := range readers {
				r, err := g.Open(context.Background(), "blob", up.fetch, st.commit)
				require.NoError(t, err)
				defer r.Close()
				readers[i] = r
			}
			close(up.resume)
			for _, r := range readers {
				got, err := readAll(r, 32<<10)
				require.ErrorIs(t, err, tc.err) // readAll returns nil on io.EOF
				require.Equal(t, tc.arrived, got)
			}
			closeGroup(t, g)
			calls, _, _ := st.snapshot()
			require.Zero(t, calls)
		})
	}
}

// A body whose length is not what was declared, or over WithMaxSize, fails
// every reader and commits nothing.
func TestBodyLengthIsEnforced(t *testing.T) {
	for name, tc := range map[string]struct {
		bodyLen  int
		declared int64
		maxSize  int64
		openErr  error // Open fails with it
		readErr  error // or reading does
		kind     error
	}{
		"longer than declared":  {bodyLen: 100, declared: 99, readErr: fanout.ErrSizeMismatch, kind: core.ErrUnavailable},
		"shorter than declared": {bodyLen: 100, declared: 101, readErr: fanout.ErrSizeMismatch, kind: core.ErrUnavailable},
		"declared over max":     {bodyLen: 100, declared: 100, maxSize: 99, openErr: fanout.ErrTooLarge, kind: core.ErrPrecondition},
		"unknown size over max": {bodyLen: 100, declared: -1, maxSize: 99, readErr: fanout.ErrTooLarge, kind: core.ErrPrecondition},
		"unknown size at max":   {bodyLen: 100, declared: -1, maxSize: 100},
	} {
		t.Run(name, func(t *testing.T) {
			data := randomBytes(tc.bodyLen)
			up := newUpstream(data)
			up.size, up.chunk = tc.declared, 7
			var st store
			g, _ := newGroup(t, fanout.WithMaxSize(tc.maxSize))

			r, err := g.Open(context.Background(), "blob", up.fetch, st.commit)
			if tc.openErr != nil {
				require.ErrorIs(t, err, tc.openErr)
				require.ErrorIs(t, err, tc.kind)
				closeGroup(t, g)
				require.True(t, up.lastBody.closed.Load(), "the refused body was not closed")
				return
			}
			require.NoError(t, err)
			defer r.Close()
			got, err := readAll(r, 32<<10)
			closeGroup(t, g)
			calls, _, _ := st.snapshot()
			if tc.readErr == nil {
				require.NoError(t, err)
				require.Equal(t, data, got)
				require.Equal(t, 1, calls)
				return
			}
			require.ErrorIs(t, err, tc.readErr)
			require.ErrorIs(t, err, tc.kind)
			require.Equal(t, data[:len(got)], got, "the bytes before the error are the body's")
			require.Zero(t, calls)
		})
	}
}

// Over WithMaxFills distinct fills an Open fails at once; joins still work.
func TestMaxFillsRefusesNewKeysNotJoins(t *testing.T) {
	up := newUpstream(randomBytes(1 << 20))
	up.pauseAt = 64 << 10
	defer close(up.resume)
	g, _ := newGroup(t, fanout.WithMaxFills(1))
	ctx := context.Background()

	a, err := g.Open(ctx, "a", up.fetch, nil)
	require.NoError(t, err)
	defer a.Close()
	_, err = g.Open(ctx, "b", newUpstream([]byte("b")).fetch, nil)
	require.ErrorIs(t, err, fanout.ErrBusy)
	require.ErrorIs(t, err, core.ErrUnavailable)
	joined, err := g.Open(ctx, "a", neverFetch(t), nil)
	require.NoError(t, err)
	defer joined.Close()
	require.Equal(t, fanout.Stats{Fetches: 1, Joins: 1, Refused: 1, InFlight: 1}, g.Stats())
}

// Group.Close cancels a fill: its reader gets the arrived bytes then an
// error, the spool is gone once Close returns, no goroutine is left.
func TestCloseCancelsFills(t *testing.T) {
	data := randomBytes(1 << 20)
	up := newUpstream(data)
	up.pauseAt = 128 << 10
	var st store
	g, dir := newGroup(t)

	r, err := g.Open(context.Background(), "blob", up.fetch, st.commit)
	require.NoError(t, err)
	defer r.Close()
	_, err = io.ReadFull(r, make([]byte, up.pauseAt))
	require.NoError(t, err)

	closeGroup(t, g)
	requireEmpty(t, dir)
	got, err := readAll(r, 32<<10)
	require.ErrorIs(t, err, fanout.ErrClosed)
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.Empty(t, got)
	_, err = g.Open(context.Background(), "other", up.fetch, st.commit)
	require.ErrorIs(t, err, fanout.ErrClosed)
	calls, _, _ := st.snapshot()
	require.Zero(t, calls)
	require.NoError(t, r.Close())
	require.Eventually(t, func() bool { return !fanoutGoroutines() }, testWait, testTick)
}

// Close gives up at its context's end when a body ignores cancellation.
func TestCloseReturnsWhenItsContextEnds(t *testing.T) {
	g, _ := newGroup(t)
	stuck := make(chan struct{})
	up := newUpstream([]byte("content"))
	ignoring := func(context.Context) (io.ReadCloser, int64, error) {
		return up.fetch(context.Background()) // a body deaf to the fill's ctx
	}
	up.pauseAt, up.resume = 3, stuck
	r, err := g.Open(context.Background(), "blob", ignoring, nil)
	require.NoError(t, err)
	defer r.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, g.Close(ctx), context.Canceled)
	close(stuck) // the cleanup's Close then finds the fill ended
}

// WithFillTimeout ends a fill whose upstream stalls.
func TestFillTimeout(t *testing.T) {
	up := newUpstream(randomBytes(1 << 10))
	up.pauseAt = 10 // never resumed
	g, _ := newGroup(t, fanout.WithFillTimeout(50*time.Millisecond))

	r, err := g.Open(context.Background(), "blob", up.fetch, nil)
	require.NoError(t, err)
	defer r.Close()
	got, err := readAll(r, 32<<10)
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.Contains(t, err.Error(), "50ms")
	assert.Len(t, got, 10)
}

// An Open's context ends its wait for the fetch's answer, not the fill.
func TestOpenContextEndsTheWaitNotTheFill(t *testing.T) {
	g, _ := newGroup(t)
	answer := make(chan struct{})
	up := newUpstream([]byte("content"))
	slow := func(ctx context.Context) (io.ReadCloser, int64, error) {
		<-answer
		return up.fetch(ctx)
	}
	committed := make(chan string, 1)
	commit := func(_ context.Context, spool *os.File, _ int64) error {
		b, err := io.ReadAll(spool)
		committed <- string(b)
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := g.Open(ctx, "blob", slow, commit)
	require.ErrorIs(t, err, context.Canceled)

	close(answer)
	require.Equal(t, "content", <-committed, "the fill ran to its end although its opener gave up")
}

// fanoutGoroutines reports whether any goroutine runs the package's code:
// counting goroutines would also count the runtime's own (cleanups).
func fanoutGoroutines() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "proxy/fanout.(*")
}
