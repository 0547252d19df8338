package fanout

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// Reader reads one fill's content from byte 0, as it arrives. Read and Close
// are meant for one goroutine; Close may also come from another to end it.
type Reader struct {
	f      *fill
	ctx    context.Context // the Open's: ends this reader only
	off    int64
	closed atomic.Bool
}

// Size is the content's declared size, -1 when the upstream did not say.
func (r *Reader) Size() int64 { return r.f.size }

// Read reads the next bytes of the spool, waiting for the fill when it has
// caught up. After the last byte it returns io.EOF if the fill completed and
// the fill's error otherwise; it returns the Open context's error once that
// is done.
func (r *Reader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, fmt.Errorf("read %s: %w", r.f.key, os.ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if err := r.ctx.Err(); err != nil {
			return 0, err
		}
		written, done, progress, err := r.f.state()
		if r.off < written {
			want := min(int64(len(p)), written-r.off)
			n, err := r.f.spool.ReadAt(p[:want], r.off)
			r.off += int64(n)
			if int64(n) < want {
				return n, fmt.Errorf("read spool of %s: %w", r.f.key, err)
			}
			return n, nil
		}
		if done {
			if err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		select {
		case <-progress:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

// Close lets go of the spool; the fill goes on for the other readers and
// the cache. It is idempotent.
func (r *Reader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.f.release()
	}
	return nil
}

// WriteTo copies the content to w as it arrives, ending as Read does. To
// a socket (an http.ResponseWriter of a response with a length) the bytes
// go by sendfile from a handle of its own on the spool, sparing a copy
// through user space; where the spool's name is already gone it reads
// through the shared handle.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if r.closed.Load() {
		return 0, fmt.Errorf("read %s: %w", r.f.key, os.ErrClosed)
	}
	own, err := os.Open(r.f.path)
	if err == nil {
		defer own.Close()
	}
	var total int64
	for {
		if err := r.ctx.Err(); err != nil {
			return total, err
		}
		written, done, progress, ferr := r.f.state()
		if r.off < written {
			var src io.Reader = io.NewSectionReader(r.f.spool, r.off, written-r.off)
			if own != nil {
				if _, err := own.Seek(r.off, io.SeekStart); err != nil {
					return total, fmt.Errorf("read spool of %s: %w", r.f.key, err)
				}
				src = &io.LimitedReader{R: own, N: written - r.off}
			}
			n, err := io.Copy(w, src)
			r.off += n
			total += n
			if err != nil {
				return total, err
			}
			continue
		}
		if done {
			return total, ferr
		}
		select {
		case <-progress:
		case <-r.ctx.Done():
			return total, r.ctx.Err()
		}
	}
}
