// Package fanout makes one fetch of a piece of content, streams it to every
// concurrent reader as it arrives, and hands it to storage once complete.
//
// A pull-through cache puts it between its clients and the upstream, so that
// sixteen clients pulling the same uncached layer cost the upstream one GET:
//
//	g, err := fanout.New("/var/lib/berth/spool",
//		fanout.WithMaxSize(16<<30), fanout.WithFillTimeout(time.Hour))
//	...
//	// in the blob handler, after a miss in the store:
//	r, err := g.Open(req.Context(), dgst.String(), fetchFromUpstream, moveIntoStore)
//	if err != nil { ... } // the fetch's own error, or ErrBusy, ErrTooLarge, ErrClosed
//	defer r.Close()
//	if r.Size() >= 0 { w.Header().Set("Content-Length", strconv.FormatInt(r.Size(), 10)) }
//	if _, err := io.Copy(w, r); err != nil {
//		panic(http.ErrAbortHandler) // a short body must look like a failure
//	}
//
// The first Open of a key starts its fill: fetch is called in a goroutine of
// its own, detached from the caller's context, so a client hanging up does
// not cut the download short for the others or for the cache; only
// WithFillTimeout and Group.Close bound it. Opens of the same key while the
// fill is in flight join it (their fetch and commit are not called) and
// return once the fetch has answered, with its size or its error.
//
// The fill copies the body into a spool file in the spool directory; every
// Reader reads that file at its own offset from byte 0 and waits when it has
// caught up. A slow reader lags behind in the file: it never slows the fill or
// the other readers, and costs no memory.
//
// A Reader returns io.EOF only after the body reached io.EOF and its length
// was checked. Any failure — the body's error (a digest mismatch reported at
// its end), a length over the declared size or WithMaxSize, a timeout,
// Group.Close — reaches every reader after the bytes that did arrive, never
// as io.EOF, and nothing is committed.
//
// On success Commit is called once, with its own read-only handle on the
// complete spool at offset 0. Readers may still be reading the spool then,
// so Commit must not truncate or write it; it may copy it, link it or rename
// it into storage (open handles keep working after a rename on POSIX
// systems). When Commit returns, the key's entry is dropped and the spool's
// name removed; open Readers finish through their handle.
//
// The caller looks in its store before Open. A fill may commit and drop its
// entry between that look-up and Open, in which case Open fetches the
// content a second time: Commit must accept content already stored.
package fanout

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/berthlabs/berth/core"
)

// Fetch starts the download of one piece of content. size is -1 when
// unknown. The body must honour ctx (an http.Request made with it does) and
// verify the content: at the end it returns a non-EOF error when the bytes
// are wrong.
type Fetch func(ctx context.Context) (body io.ReadCloser, size int64, err error)

// Commit stores a complete spool of size bytes. It must not modify the file
// (readers may still be reading it); it may rename it.
type Commit func(ctx context.Context, spool *os.File, size int64) error

// The errors of the group itself; each matches a kind of core.
var (
	ErrBusy         = core.New(core.ErrUnavailable, "too many fills in flight")
	ErrClosed       = core.New(core.ErrUnavailable, "fanout group closed")
	ErrTooLarge     = core.New(core.ErrPrecondition, "content exceeds the fill size limit")
	ErrSizeMismatch = core.New(core.ErrUnavailable, "upstream body length differs from its declared size")
)

// DefaultMaxFills bounds the distinct fills in flight when WithMaxFills is
// not given: each holds an upstream connection and a spool file.
const DefaultMaxFills = 64

// Group coalesces fills by key. It is safe for concurrent use.
type Group struct {
	dir         string
	maxFills    int
	maxSize     int64
	fillTimeout time.Duration
	commitErrs  func(key string, err error)

	ctx    context.Context // parent of every fill; cancelled by Close
	cancel context.CancelCauseFunc

	mu        sync.Mutex
	fills     map[string]*fill // the keys an Open may join
	running   int              // fills whose goroutine has not ended
	stats     Stats
	closed    bool
	drained   chan struct{} // closed once the group is closed and no fill runs
	isDrained bool
}

// Stats counts the group's work since New, so coalescing can be measured.
type Stats struct {
	Fetches  int64 // fills started, one fetch each
	Joins    int64 // Opens that joined a fill in flight instead of fetching
	Refused  int64 // Opens refused because WithMaxFills fills were in flight
	InFlight int   // fills fetching or committing now
}

// Option configures a Group.
type Option func(*Group)

// WithMaxFills bounds the distinct keys being filled at once (default
// DefaultMaxFills; 0 or less: no bound). An Open that would start one more
// fails at once with ErrBusy, which matches core.ErrUnavailable.
func WithMaxFills(n int) Option { return func(g *Group) { g.maxFills = n } }

// WithMaxSize fails a fill whose declared size or body exceeds n bytes,
// with ErrTooLarge (default: no limit).
func WithMaxSize(n int64) Option { return func(g *Group) { g.maxSize = n } }

// WithFillTimeout bounds a whole fill, fetch and Commit included (default:
// no bound but Group.Close).
func WithFillTimeout(d time.Duration) Option { return func(g *Group) { g.fillTimeout = d } }

// WithCommitErrors receives the errors of Commit, which readers never see
// (default: logged with slog.Default()).
func WithCommitErrors(fn func(key string, err error)) Option {
	return func(g *Group) { g.commitErrs = fn }
}

// New returns a group spooling into spoolDir, created 0700 if missing. The
// directory should be the group's own.
func New(spoolDir string, opts ...Option) (*Group, error) {
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("fanout spool directory: %w", err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	g := &Group{
		dir:      spoolDir,
		maxFills: DefaultMaxFills,
		commitErrs: func(key string, err error) {
			slog.Default().Warn("fanout: commit failed", "key", key, "err", err)
		},
		ctx:     ctx,
		cancel:  cancel,
		fills:   make(map[string]*fill),
		drained: make(chan struct{}),
	}
	for _, o := range opts {
		o(g)
	}
	return g, nil
}

// Open returns a Reader of key's content from byte 0, starting a fill with
// fetch and commit unless one is in flight. It returns once the fetch has
// answered; an error of the fetch is returned by every Open that joined it.
// ctx bounds this Open and the Reader's reads, never the fill.
func (g *Group) Open(ctx context.Context, key string, fetch Fetch, commit Commit) (*Reader, error) {
	f, err := g.join(key, fetch, commit)
	if err != nil {
		return nil, err
	}
	select {
	case <-f.ready:
	case <-ctx.Done():
		f.release()
		return nil, fmt.Errorf("open %s: waiting for the fetch: %w", key, ctx.Err())
	}
	if f.openErr != nil {
		f.release()
		return nil, f.openErr
	}
	return &Reader{f: f, ctx: ctx}, nil
}

// join returns key's fill in flight, or starts one, holding a reference
// for the caller.
func (g *Group) join(key string, fetch Fetch, commit Commit) (*fill, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, fmt.Errorf("open %s: %w", key, ErrClosed)
	}
	if f, ok := g.fills[key]; ok {
		g.stats.Joins++
		f.acquire()
		return f, nil
	}
	if g.maxFills > 0 && g.running >= g.maxFills {
		g.stats.Refused++
		return nil, fmt.Errorf("open %s: %d fills in flight, the group's limit; retry shortly: %w",
			key, g.running, ErrBusy)
	}
	f := newFill(key) // one reference for the fill, one for this Open
	f.acquire()
	g.fills[key] = f
	g.running++
	g.stats.Fetches++
	go g.run(f, fetch, commit)
	return f, nil
}

// Stats returns the group's counters.
func (g *Group) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.InFlight = g.running
	return s
}

// Close refuses new Opens, cancels every fill (their readers get an error
// matching ErrClosed) and waits until they ended and removed their spools,
// or until ctx is done. Readers of fills that had completed keep reading.
func (g *Group) Close(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	g.checkDrained()
	g.mu.Unlock()
	g.cancel(ErrClosed)
	select {
	case <-g.drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("closing fanout group: %d fills still running: %w", g.Stats().InFlight, ctx.Err())
	}
}

// checkDrained closes drained once the group is closed and idle; g.mu held.
func (g *Group) checkDrained() {
	if g.closed && g.running == 0 && !g.isDrained {
		g.isDrained = true
		close(g.drained)
	}
}

// fillContext is the context of one fill: the group's, bounded by
// WithFillTimeout, with causes that say which limit ended it.
func (g *Group) fillContext() (context.Context, context.CancelFunc) {
	if g.fillTimeout > 0 {
		cause := fmt.Errorf("fill took longer than its limit of %s: %w", g.fillTimeout, core.ErrUnavailable)
		return context.WithTimeoutCause(g.ctx, g.fillTimeout, cause)
	}
	return context.WithCancel(g.ctx)
}
