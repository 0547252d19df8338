package diskcache_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/diskcache"
	"github.com/berthlabs/berth/storage/memory"
)

// remote wraps a driver to count and steer the cache's Opens.
type remote struct {
	storage.Driver
	opens    atomic.Int64 // Opens called
	returned atomic.Int64 // Opens that have returned

	// gate, when set, holds every Open after the inner Open until it is
	// closed or the Open's context ends.
	gate chan struct{}
	// tamper, when set, replaces the content Open returns.
	tamper func([]byte) []byte
	// failAt, when positive, makes reads fail after that many bytes.
	failAt int
}

func newRemote() *remote { return &remote{Driver: memory.New()} }

var errReset = errors.New("connection reset")

func (r *remote) Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, error) {
	r.opens.Add(1)
	defer r.returned.Add(1)
	rc, err := r.Driver.Open(ctx, dgst)
	if err != nil {
		return nil, err
	}
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			_ = rc.Close()
			return nil, ctx.Err()
		}
	}
	if r.tamper == nil && r.failAt == 0 {
		return rc, nil
	}
	content, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil {
		return nil, err
	}
	if r.tamper != nil {
		content = r.tamper(content)
	}
	return &readSeeker{ReadSeeker: bytes.NewReader(content), failAt: int64(r.failAt)}, nil
}

// readSeeker is a remote's content, failing reads past failAt when it is
// positive.
type readSeeker struct {
	io.ReadSeeker
	failAt int64
	pos    int64
}

func (r *readSeeker) Read(p []byte) (int, error) {
	if r.failAt > 0 {
		if r.pos >= r.failAt {
			return 0, errReset
		}
		p = p[:min(int64(len(p)), r.failAt-r.pos)]
	}
	n, err := r.ReadSeeker.Read(p)
	r.pos += int64(n)
	return n, err
}

func (r *readSeeker) Seek(offset int64, whence int) (int64, error) {
	pos, err := r.ReadSeeker.Seek(offset, whence)
	r.pos = pos
	return pos, err
}

func (r *readSeeker) Close() error { return nil }

// open returns a cache over remote in dir.
func open(t *testing.T, remote storage.Driver, dir string, maxBytes int64, opts ...diskcache.Option) *diskcache.Driver {
	t.Helper()
	d, err := diskcache.New(remote, dir, maxBytes, opts...)
	require.NoError(t, err)
	return d
}

// put stores content in d (the remote, or the cache which passes it on).
func put(t *testing.T, d storage.Uploads, content string) digest.Digest {
	t.Helper()
	dgst := digest.FromString(content)
	_, err := storage.Put(t.Context(), d, dgst, bytes.NewReader([]byte(content)))
	require.NoError(t, err)
	return dgst
}

// read opens dgst in d and returns its content and the reader's type.
func read(t *testing.T, d storage.Blobs, dgst digest.Digest) (string, bool) {
	t.Helper()
	rc, err := d.Open(t.Context(), dgst)
	require.NoError(t, err)
	defer func() { require.NoError(t, rc.Close()) }()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	_, isFile := rc.(*os.File)
	return string(b), isFile
}

// gated returns a cache whose remote holds content and whose remote Opens
// wait until r.gate is closed.
func gated(t *testing.T, content string) (r *remote, dir string, d *diskcache.Driver, dgst digest.Digest) {
	t.Helper()
	r, dir = newRemote(), t.TempDir()
	r.gate = make(chan struct{})
	d = open(t, r, dir, 1<<20)
	return r, dir, d, put(t, r, content)
}

// waitFor waits until cond holds, for what another goroutine does.
func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, msg)
}

// openAsync opens dgst in d on a goroutine of its own, closes what it got
// and sends Open's error.
func openAsync(ctx context.Context, d storage.Blobs, dgst digest.Digest) <-chan error {
	errs := make(chan error, 1)
	go func() {
		rc, err := d.Open(ctx, dgst)
		if err == nil {
			_ = rc.Close()
		}
		errs <- err
	}()
	return errs
}

// cached lists the blob files in a cache directory.
func cached(t *testing.T, dir string) []digest.Digest {
	t.Helper()
	var out []digest.Digest
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		files, err := os.ReadDir(filepath.Join(dir, string(alg)))
		require.NoError(t, err)
		for _, f := range files {
			out = append(out, digest.NewDigestFromEncoded(alg, f.Name()))
		}
	}
	return out
}

// temps lists the files in a cache's tmp directory.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	files, err := os.ReadDir(filepath.Join(dir, "tmp"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		out = append(out, f.Name())
	}
	return out
}

// blobPath is where the cache keeps dgst.
func blobPath(dir string, dgst digest.Digest) string {
	return filepath.Join(dir, string(dgst.Algorithm()), dgst.Encoded())
}
