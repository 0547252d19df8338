package diskcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// ErrCorrupt is what Open returns when the remote driver's content for a
// digest does not hash to it, or is not as long as the remote says. It has
// no kind of core's: a broken store is the server's failure (500), not the
// client's mistake that storage.ErrDigestMismatch stands for.
var ErrCorrupt = errors.New("diskcache: remote content does not match its digest")

const copyBufSize = 256 << 10

// fill is one fetch of one blob into the cache, shared by the Opens that
// wait for it.
type fill struct {
	done    chan struct{}
	cancel  context.CancelFunc
	waiters int  // Opens waiting; the fill is cancelled when the last one gives up
	dropped bool // Delete ran meanwhile: the content must not be cached

	// Set before done is closed, read-only after.
	err    error
	bypass bool // not cached (too large, or deleted meanwhile): each Open streams from remote
}

// Open returns the blob's cached *os.File, fetching it into the cache first
// on a miss. Blobs over the object size limit are streamed from remote.
func (d *Driver) Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, error) {
	if err := storage.CheckDigest(dgst); err != nil {
		return nil, err
	}
	d.mu.Lock()
	if file := d.openCachedLocked(dgst, true); file != nil {
		return file, nil
	}
	d.stats.Misses++
	if _, ok := d.large[dgst]; ok {
		d.unlock()
		return d.remote.Open(ctx, dgst)
	}
	f := d.fills[dgst]
	if f == nil {
		f = d.startLocked(ctx, dgst)
	}
	f.waiters++
	d.unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		d.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			if d.fills[dgst] == f {
				delete(d.fills, dgst) // the next Open starts afresh
			}
		}
		d.unlock()
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	if !f.bypass {
		d.mu.Lock()
		if file := d.openCachedLocked(dgst, false); file != nil {
			return file, nil
		}
		d.unlock()
	}
	// Not for the cache, or evicted already by other fills: stream it.
	return d.remote.Open(ctx, dgst)
}

// openCachedLocked opens dgst's verified cached file and marks it recently
// used, counting a hit if asked. It holds d.mu, so the file cannot be
// evicted between look-up and open; when it returns a file it has released
// d.mu, when it returns nil d.mu is still held.
func (d *Driver) openCachedLocked(dgst digest.Digest, hit bool) *os.File {
	e := d.entries[dgst]
	if e == nil || !e.verified {
		return nil
	}
	file, err := os.Open(d.blobPath(dgst))
	if err != nil {
		d.discardLocked(e) // removed or unreadable behind our back: fetch it again
		return nil
	}
	d.lru.MoveToFront(e.elem)
	if hit {
		d.stats.Hits++
		d.stats.HitBytes += e.size
	}
	now, touch := time.Now(), ""
	if now.Sub(e.touched) >= touchEvery {
		e.touched, touch = now, d.blobPath(dgst)
	}
	d.unlock()
	if touch != "" {
		_ = os.Chtimes(touch, now, now) // recency for a restart only
	}
	return file
}

// startLocked registers and starts a fill of dgst. Its context keeps ctx's
// values but not its end: the fill serves every Open that joins it.
func (d *Driver) startLocked(ctx context.Context, dgst digest.Digest) *fill {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &fill{done: make(chan struct{}), cancel: cancel}
	d.fills[dgst] = f
	go d.run(fctx, f, dgst, d.entries[dgst])
	return f
}

// run is a fill's goroutine: it rehashes an adopted, unverified copy if
// there is one, fetches the blob from remote otherwise or if that copy is
// bad, and wakes the waiting Opens.
func (d *Driver) run(ctx context.Context, f *fill, dgst digest.Digest, adopted *entry) {
	defer f.cancel()
	var err error
	if adopted == nil || !d.verify(adopted) {
		err = d.fetch(ctx, f, dgst)
	}
	d.mu.Lock()
	if d.fills[dgst] == f {
		delete(d.fills, dgst)
	}
	f.err = err
	close(f.done)
	d.unlock()
}

// verify rehashes an adopted file and marks it verified, or discards it.
// It reports whether the entry is cached and verified now.
func (d *Driver) verify(e *entry) bool {
	ok := false
	if file, err := os.Open(d.blobPath(e.dgst)); err == nil {
		ok = hashes(file, e.dgst, e.size) == nil
		_ = file.Close()
	}
	d.mu.Lock()
	defer d.unlock()
	if d.entries[e.dgst] != e {
		return false // evicted or deleted meanwhile
	}
	if !ok {
		d.discardLocked(e)
		return false
	}
	e.verified = true
	return true
}

// fetch downloads dgst from remote into the cache, unless it is too large
// or deleted meanwhile, in which case it sets f.bypass.
func (d *Driver) fetch(ctx context.Context, f *fill, dgst digest.Digest) error {
	rc, err := d.remote.Open(ctx, dgst)
	if err != nil {
		return err
	}
	defer rc.Close()
	size, err := rc.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = rc.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("diskcache: size of %s: %w", dgst, err)
	}

	d.mu.Lock()
	if size > d.maxObject {
		if len(d.large) >= maxLarge {
			clear(d.large)
		}
		d.large[dgst] = struct{}{}
	}
	if size > d.maxObject || f.dropped {
		f.bypass = true
		d.unlock()
		return nil
	}
	d.reserved += size // room for the download, made now
	d.evictLocked()
	d.unlock()

	tmp, err := d.download(ctx, rc, dgst, size)

	d.mu.Lock()
	defer d.unlock()
	d.reserved -= size
	if err != nil {
		return err
	}
	if f.dropped {
		d.trashLocked(tmp)
		f.bypass = true
		return nil
	}
	if old := d.entries[dgst]; old != nil {
		d.discardLocked(old) // an adopted copy, or a cancelled fill's that completed anyway
	}
	if err := os.Rename(tmp, d.blobPath(dgst)); err != nil {
		d.trashLocked(tmp)
		return fmt.Errorf("diskcache: %w", err)
	}
	d.insertLocked(&entry{dgst: dgst, size: size, verified: true, touched: time.Now()})
	d.stats.Fills++
	d.evictLocked()
	return nil
}

// download copies size bytes of r into a new file in tmp while hashing
// them, and returns the file's path once its content is dgst's. On error
// it leaves no file.
func (d *Driver) download(ctx context.Context, r io.Reader, dgst digest.Digest, size int64) (path string, err error) {
	tmp, err := os.CreateTemp(d.tmpDir(), "fill-*")
	if err != nil {
		return "", fmt.Errorf("diskcache: %w", err)
	}
	defer func() {
		if cerr := tmp.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("diskcache: %w", cerr)
		}
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	h := dgst.Algorithm().Digester()
	n, err := io.CopyBuffer(io.MultiWriter(tmp, h.Hash()), io.LimitReader(r, size+1), make([]byte, copyBufSize))
	if err == nil {
		err = ctx.Err() // a remote whose reader ignores ctx
	}
	if err != nil {
		return "", fmt.Errorf("diskcache: fetching %s: %w", dgst, err)
	}
	if n != size {
		return "", fmt.Errorf("%w: %s: remote's body is not of its size %d (read %d bytes)", ErrCorrupt, dgst, size, n)
	}
	if got := h.Digest(); got != dgst {
		return "", fmt.Errorf("%w: remote content of %s hashes to %s", ErrCorrupt, dgst, got)
	}
	return tmp.Name(), nil
}

// hashes checks that r holds size bytes that hash to dgst.
func hashes(r io.Reader, dgst digest.Digest, size int64) error {
	h := dgst.Algorithm().Digester()
	n, err := io.CopyBuffer(h.Hash(), io.LimitReader(r, size+1), make([]byte, copyBufSize))
	switch {
	case err != nil:
		return err
	case n != size || h.Digest() != dgst:
		return ErrCorrupt
	}
	return nil
}
