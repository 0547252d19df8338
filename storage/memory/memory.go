// Package memory is a storage.Driver that keeps blobs and upload sessions in
// process memory: for tests, and for embedding where content need not
// outlive the process. It is safe for concurrent use.
//
//	d := memory.New()
//	_, err := storage.Put(ctx, d, dgst, bytes.NewReader(content))
//	rc, err := d.Open(ctx, dgst)
package memory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// Driver is an in-memory storage.Driver. The zero value is not usable; call New.
type Driver struct {
	mu       sync.Mutex
	blobs    map[digest.Digest][]byte // immutable once stored
	sessions map[string]*session
}

var _ storage.Driver = (*Driver)(nil)

// New returns an empty driver.
func New() *Driver {
	return &Driver{blobs: map[digest.Digest][]byte{}, sessions: map[string]*session{}}
}

// Stat returns the size of a committed blob.
func (d *Driver) Stat(_ context.Context, dgst digest.Digest) (int64, error) {
	b, err := d.blob(dgst)
	return int64(len(b)), err
}

// Open returns a reader over a committed blob.
func (d *Driver) Open(_ context.Context, dgst digest.Digest) (io.ReadSeekCloser, error) {
	b, err := d.blob(dgst)
	if err != nil {
		return nil, err
	}
	return nopCloser{bytes.NewReader(b)}, nil
}

// Delete removes a committed blob.
func (d *Driver) Delete(_ context.Context, dgst digest.Digest) error {
	if err := storage.CheckDigest(dgst); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.blobs[dgst]; !ok {
		return fmt.Errorf("%w: %s", storage.ErrBlobUnknown, dgst)
	}
	delete(d.blobs, dgst)
	return nil
}

// Walk calls fn for every committed blob. It works on a snapshot, so fn may
// call back into the driver.
func (d *Driver) Walk(ctx context.Context, fn func(dgst digest.Digest, size int64) error) error {
	d.mu.Lock()
	sizes := make(map[digest.Digest]int64, len(d.blobs))
	for dgst, b := range d.blobs {
		sizes[dgst] = int64(len(b))
	}
	d.mu.Unlock()
	for dgst, size := range sizes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(dgst, size); err != nil {
			return err
		}
	}
	return nil
}

func (d *Driver) blob(dgst digest.Digest) ([]byte, error) {
	if err := storage.CheckDigest(dgst); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.blobs[dgst]
	if !ok {
		return nil, fmt.Errorf("%w: %s", storage.ErrBlobUnknown, dgst)
	}
	return b, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
