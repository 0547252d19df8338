package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Recorder.Record after Close.
var ErrClosed = errors.New("audit: recorder closed")

// Recorder defaults.
const (
	DefaultQueueSize     = 4096
	DefaultBatchSize     = 256
	DefaultFlushInterval = 100 * time.Millisecond
)

// Recorder records entries asynchronously: Record enqueues, one goroutine
// writes batches in single transactions. Nothing is dropped: Record blocks
// while the queue is full, failed batches are retried with backoff (and
// logged) until written, and Close reports what it could not write.
type Recorder struct {
	store      *Store
	log        *slog.Logger
	queue      chan Entry
	batchSize  int
	interval   time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration

	mu          sync.Mutex
	closed      bool
	senders     int           // Record calls in progress
	sendersDone chan struct{} // closed once closed && senders == 0
	abort       chan struct{} // closed when Close gives up waiting
	abortOnce   sync.Once
	abortErr    error           // why Close gave up
	ctx         context.Context // the writer's; cancelled on abort
	cancel      context.CancelFunc
	done        chan struct{} // closed when the writer exits

	pending, written, batches, failed atomic.Int64
}

// RecorderOption configures a Recorder.
type RecorderOption func(*Recorder)

// WithQueueSize bounds the entries waiting to be written (default 4096).
func WithQueueSize(n int) RecorderOption {
	return func(r *Recorder) { r.queue = make(chan Entry, max(n, 1)) }
}

// WithBatch sets how many entries go in one transaction and how long the
// first entry of a batch may wait for others (defaults 256 and 100ms).
func WithBatch(size int, interval time.Duration) RecorderOption {
	return func(r *Recorder) { r.batchSize, r.interval = max(size, 1), max(interval, time.Millisecond) }
}

// WithRetryBackoff sets the first and the longest wait between retries of
// a failed batch (defaults 50ms and 5s).
func WithRetryBackoff(first, longest time.Duration) RecorderOption {
	return func(r *Recorder) { r.minBackoff, r.maxBackoff = max(first, time.Millisecond), max(longest, first) }
}

// WithLogger sets where failed writes are logged (default slog.Default()).
func WithLogger(l *slog.Logger) RecorderOption {
	return func(r *Recorder) {
		if l != nil {
			r.log = l
		}
	}
}

// NewRecorder starts a Recorder writing to store. Close it to flush and
// stop its goroutine.
func NewRecorder(store *Store, opts ...RecorderOption) *Recorder {
	r := &Recorder{
		store: store, log: slog.Default(), queue: make(chan Entry, DefaultQueueSize),
		batchSize: DefaultBatchSize, interval: DefaultFlushInterval,
		minBackoff: 50 * time.Millisecond, maxBackoff: 5 * time.Second,
		sendersDone: make(chan struct{}), abort: make(chan struct{}), done: make(chan struct{}),
	}
	for _, o := range opts {
		o(r)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go r.run()
	return r
}

// Record enqueues e, stamping it with the current time if it has none. It
// blocks while the queue is full; it fails only if ctx ends first, the
// entry is invalid or the Recorder is closed — never silently.
func (r *Recorder) Record(ctx context.Context, e Entry) error {
	e, err := r.store.prepare(ctx, e)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	r.senders++
	r.mu.Unlock()
	defer r.leave()

	r.pending.Add(1)
	select {
	case r.queue <- e:
		return nil
	default:
	}
	select {
	case r.queue <- e:
		return nil
	case <-ctx.Done():
		r.pending.Add(-1)
		return fmt.Errorf("audit: entry not recorded: %w", ctx.Err())
	case <-r.abort:
		r.pending.Add(-1)
		return ErrClosed
	}
}

func (r *Recorder) leave() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.senders--; r.closed && r.senders == 0 {
		close(r.sendersDone)
	}
}

// Close stops accepting entries and waits until every accepted entry is
// written. If ctx ends first it abandons the rest, refuses the Record calls
// still waiting for room (ErrClosed) and returns an error saying how many
// accepted entries were not written. A batch already inside a database
// write is let finish (or fail) before Close counts.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		if r.senders == 0 {
			close(r.sendersDone)
		}
	}
	r.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		r.abortOnce.Do(func() { r.abortErr = ctx.Err(); close(r.abort); r.cancel() })
		<-r.done
	}
	<-r.sendersDone // after an abort, blocked Record calls have returned
	if n := r.pending.Load(); n > 0 {
		r.log.Error("audit: recorder closed with entries not written", "entries", n)
		return fmt.Errorf("audit: close: %d entries not written: %w", n, r.abortErr)
	}
	return nil
}

// Stats counts what a Recorder has done.
type Stats struct {
	Written       int64 // entries committed
	Batches       int64 // batches committed
	FailedBatches int64 // batch write attempts that failed (each was retried)
	Pending       int64 // entries given to Record, not yet committed (queued or waiting for room)
}

// Stats reports the Recorder's counters.
func (r *Recorder) Stats() Stats {
	return Stats{Written: r.written.Load(), Batches: r.batches.Load(),
		FailedBatches: r.failed.Load(), Pending: r.pending.Load()}
}
