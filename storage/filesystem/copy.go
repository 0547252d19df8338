package filesystem

import (
	"context"
	"io"
	"os"

	"github.com/berthlabs/berth/storage"
)

func (d *Driver) buffer() *[]byte { return d.bufs.Get().(*[]byte) }

// copyHashed appends r to f, which is positioned at off, and hashes it into
// h, in large blocks until r is drained.
//
// Hashing block i runs on its own goroutine while block i+1 is read and
// written: sha256 is the slowest stage, so on two cores the read and the
// write cost little on top of it. Two buffers alternate; a buffer is refilled
// only after its hash is done. Each written block is handed to the kernel for
// writeback at once, so the disk works while we hash and the fsync that ends
// Write finds little left to flush.
func (d *Driver) copyHashed(ctx context.Context, f *os.File, off int64, h *storage.Hasher, r io.Reader) (int64, error) {
	bufs := [2]*[]byte{d.buffer(), d.buffer()}
	idle := make(chan struct{}, 1) // holds a token while no hash is running
	idle <- struct{}{}
	defer func() {
		<-idle // h and the buffers are ours again
		d.bufs.Put(bufs[0])
		d.bufs.Put(bufs[1])
	}()

	var n int64
	for i := 0; ; i ^= 1 {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		block := *bufs[i]
		m, rerr := fill(r, block)
		if m > 0 {
			if _, err := f.Write(block[:m]); err != nil {
				return n, err
			}
			if d.fsync {
				startWriteback(f, off+n, int64(m))
			}
			<-idle
			go func() {
				_, _ = h.Write(block[:m]) // hashes never fail
				idle <- struct{}{}
			}()
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// fill reads into buf until it is full or r returns an error, io.EOF
// included. Unlike io.ReadFull it passes every error through untouched: an
// io.ErrUnexpectedEOF from r (a body shorter than its Content-Length) is a
// failure, not the end of the stream.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
