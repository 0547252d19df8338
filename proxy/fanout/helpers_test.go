package fanout_test

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/proxy/fanout"
)

// source is an upstream body over data: chunk bytes per Read, a pause
// before byte pauseAt (-1: none) until resume is closed or its ctx is done,
// and end returned after the last byte instead of io.EOF.
type source struct {
	ctx     context.Context
	data    []byte
	chunk   int
	pauseAt int
	resume  <-chan struct{}
	end     error
	off     int
	closed  atomic.Bool
}

func (s *source) Read(p []byte) (int, error) {
	if s.pauseAt >= 0 && s.off == s.pauseAt {
		select {
		case <-s.resume:
			s.pauseAt = -1
		case <-s.ctx.Done():
			return 0, s.ctx.Err()
		}
	}
	if s.off == len(s.data) {
		if s.end != nil {
			return 0, s.end
		}
		return 0, io.EOF
	}
	stop := len(s.data)
	if s.pauseAt > s.off {
		stop = s.pauseAt
	}
	n := copy(p[:min(len(p), s.chunk)], s.data[s.off:stop])
	s.off += n
	return n, nil
}

func (s *source) Close() error { s.closed.Store(true); return nil }

// upstream makes sources for fetches and counts the fetches.
type upstream struct {
	data     []byte
	size     int64 // declared; -1 unknown
	chunk    int
	pauseAt  int
	resume   chan struct{}
	end      error
	calls    atomic.Int32
	mu       sync.Mutex
	lastBody *source
}

func newUpstream(data []byte) *upstream {
	return &upstream{data: data, size: int64(len(data)), chunk: 64 << 10, pauseAt: -1, resume: make(chan struct{})}
}

func (u *upstream) fetch(ctx context.Context) (io.ReadCloser, int64, error) {
	u.calls.Add(1)
	s := &source{ctx: ctx, data: u.data, chunk: u.chunk, pauseAt: u.pauseAt, resume: u.resume, end: u.end}
	u.mu.Lock()
	u.lastBody = s
	u.mu.Unlock()
	return s, u.size, nil
}

// store records what Commit was given: the sha256 of the spool from its
// offset, and the size.
type store struct {
	mu    sync.Mutex
	calls int
	sums  [][32]byte
	sizes []int64
	err   error // returned by commit
}

func (s *store) commit(_ context.Context, spool *os.File, size int64) error {
	h := sha256.New()
	if _, err := io.Copy(h, spool); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.sums = append(s.sums, [32]byte(h.Sum(nil)))
	s.sizes = append(s.sizes, size)
	return s.err
}

func (s *store) snapshot() (calls int, sums [][32]byte, sizes []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, append([][32]byte(nil), s.sums...), append([]int64(nil), s.sizes...)
}

// neverFetch fails the test if a join calls it.
func neverFetch(t *testing.T) fanout.Fetch {
	return func(context.Context) (io.ReadCloser, int64, error) {
		t.Error("a join's fetch was called")
		return nil, 0, io.ErrUnexpectedEOF
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

// newGroup returns a group over a fresh spool directory; at the end of the
// test it closes the group and checks no spool file is left.
func newGroup(t *testing.T, opts ...fanout.Option) (*fanout.Group, string) {
	t.Helper()
	dir := t.TempDir()
	g, err := fanout.New(dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		closeGroup(t, g)
		requireEmpty(t, dir)
	})
	return g, dir
}

func closeGroup(t *testing.T, g *fanout.Group) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, g.Close(ctx))
}

func requireEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "spool files left in %s", dir)
}

// readAll reads r to its end through a buffer of bufSize, as a handler
// copying to a client would.
func readAll(r io.Reader, bufSize int) ([]byte, error) {
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// Bounds of wait-for-condition loops: generous, as the machine is shared.
const (
	testWait = 10 * time.Second
	testTick = time.Millisecond
)
