package fanout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sync"
)

// copyBufSize is the fill's read size: large enough that a fast body is
// spooled in few syscalls and few reader wake-ups.
const copyBufSize = 256 << 10

// fill is one fetch of one key and its spool.
type fill struct {
	key string

	// Set by the fill before ready is closed, read-only after.
	ready   chan struct{}
	openErr error    // the fetch failed: no spool, no bytes
	size    int64    // declared size, -1 when unknown
	spool   *os.File // written by the fill, read by every Reader with ReadAt
	path    string

	mu       sync.Mutex
	written  int64
	done     bool
	err      error         // why a done fill failed; nil when complete
	progress chan struct{} // closed and replaced at every step, to wake readers
	refs     int           // the fill itself, its Readers and the Opens waiting
	unlinked bool
}

func newFill(key string) *fill {
	return &fill{key: key, ready: make(chan struct{}), size: -1, progress: make(chan struct{}), refs: 1}
}

// run is the fill's goroutine: fetch, spool, commit, clean up. A failed
// fill forgets its key before readers learn of the failure, so an Open after
// the failure starts afresh.
func (g *Group) run(f *fill, fetch Fetch, commit Commit) {
	ctx, cancel := g.fillContext()
	defer cancel()
	defer g.ended(f)

	body, err := g.start(ctx, f, fetch)
	if err != nil {
		g.forget(f)
		f.openErr = fmt.Errorf("fetch %s: %w", f.key, err)
		close(f.ready)
		return
	}
	close(f.ready)
	err = g.spoolBody(ctx, f, body)
	_ = body.Close() // the bytes are judged by Read's result, not by Close
	if err != nil {
		g.forget(f)
		f.finish(fmt.Errorf("fetch %s: %w", f.key, err))
		return
	}
	f.finish(nil)
	if commit != nil {
		g.commit(ctx, f, commit)
	}
	g.forget(f)
}

// start calls fetch and creates the spool.
func (g *Group) start(ctx context.Context, f *fill, fetch Fetch) (io.ReadCloser, error) {
	body, size, err := fetch(ctx)
	if ctx.Err() != nil {
		err = context.Cause(ctx) // the group closing or the timeout, not what fetch made of it
	}
	if err == nil && body == nil {
		err = errors.New("fetch returned no body and no error")
	}
	if err == nil && g.maxSize > 0 && size > g.maxSize {
		err = fmt.Errorf("declared size of %d bytes is over the limit of %d: %w", size, g.maxSize, ErrTooLarge)
	}
	var spool *os.File
	if err == nil {
		spool, err = os.CreateTemp(g.dir, "fill-*") // 0600
	}
	if err != nil {
		if body != nil {
			_ = body.Close()
		}
		return nil, err
	}
	f.spool, f.path = spool, spool.Name()
	if size >= 0 {
		f.size = size
	}
	return body, nil
}

// spoolBody copies body into the spool, publishing each step to readers,
// and fails on a body longer or shorter than allowed.
func (g *Group) spoolBody(ctx context.Context, f *fill, body io.Reader) error {
	limit, over := int64(math.MaxInt64), error(nil)
	switch {
	case f.size >= 0:
		limit = f.size
		over = fmt.Errorf("upstream sent more than its declared %d bytes: %w", f.size, ErrSizeMismatch)
	case g.maxSize > 0:
		limit = g.maxSize
		over = fmt.Errorf("body is over the limit of %d bytes: %w", g.maxSize, ErrTooLarge)
	}
	buf := make([]byte, copyBufSize)
	var written int64
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if int64(n) > limit-written {
				return over
			}
			if _, err := f.spool.Write(buf[:n]); err != nil {
				return fmt.Errorf("writing spool: %w", err)
			}
			written += int64(n)
			f.advance(written)
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if rerr == io.EOF {
			if f.size >= 0 && written != f.size {
				return fmt.Errorf("upstream body ended after %d of its declared %d bytes: %w", written, f.size, ErrSizeMismatch)
			}
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// commit hands the complete spool to Commit through a handle of its own,
// so Commit cannot disturb the readers' one.
func (g *Group) commit(ctx context.Context, f *fill, commit Commit) {
	spool, err := os.Open(f.path)
	if err == nil {
		err = commit(ctx, spool, f.written)
		_ = spool.Close() // Commit may have closed it
	}
	if err != nil {
		g.commitErrs(f.key, fmt.Errorf("commit %s: %w", f.key, err))
	}
}

// forget drops the key's entry, so the next Open of it fetches again.
func (g *Group) forget(f *fill) {
	g.mu.Lock()
	if g.fills[f.key] == f {
		delete(g.fills, f.key)
	}
	g.mu.Unlock()
}

// ended removes the spool's name (open readers keep their handle), lets go
// of the fill's reference and counts the fill out.
func (g *Group) ended(f *fill) {
	if f.spool != nil {
		err := os.Remove(f.path)
		f.mu.Lock()
		f.unlinked = err == nil || errors.Is(err, fs.ErrNotExist) // Commit may have moved it
		f.mu.Unlock()
	}
	f.release()
	g.mu.Lock()
	g.running--
	g.checkDrained()
	g.mu.Unlock()
}

// advance publishes that the spool holds written bytes.
func (f *fill) advance(written int64) {
	f.mu.Lock()
	f.written = written
	close(f.progress)
	f.progress = make(chan struct{})
	f.mu.Unlock()
}

// finish publishes the fill's outcome: nil when complete.
func (f *fill) finish(err error) {
	f.mu.Lock()
	f.done, f.err = true, err
	close(f.progress)
	f.progress = make(chan struct{})
	f.mu.Unlock()
}

// state is what a reader may read now, and what to wait on for more.
func (f *fill) state() (written int64, done bool, progress <-chan struct{}, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written, f.done, f.progress, f.err
}

// acquire takes a reference; only while the fill is in its group's map,
// so never after the last release.
func (f *fill) acquire() {
	f.mu.Lock()
	f.refs++
	f.mu.Unlock()
}

// release drops a reference; the last one closes the spool, and removes
// it where its name could not be removed while open.
func (f *fill) release() {
	f.mu.Lock()
	f.refs--
	last, unlinked := f.refs == 0, f.unlinked
	f.mu.Unlock()
	if !last || f.spool == nil {
		return
	}
	_ = f.spool.Close()
	if !unlinked {
		_ = os.Remove(f.path)
	}
}
