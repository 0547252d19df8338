package upstream

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// Blob streams the blob d of repo, following redirects to blob storage.
// size is the upstream's Content-Length, -1 when it sent none. The reader
// verifies as it goes: where the bytes end it returns io.EOF only if their
// count and digest are right, and otherwise an error matching
// core.ErrInvalid (wrong bytes, more than Content-Length) or
// core.ErrUnavailable (the transfer was cut or stalled), so a streaming
// consumer never takes bad bytes for complete ones. Close it: it holds a
// WithMaxConcurrent slot until then.
func (c *Client) Blob(ctx context.Context, repo string, d digest.Digest) (_ io.ReadCloser, size int64, _ error) {
	what := "blob " + named(repo) + "@" + named(d.String())
	repo, err := c.repository(repo, what)
	if err != nil {
		return nil, 0, err
	}
	if d, err = c.digest(d.String(), what); err != nil {
		return nil, 0, err
	}
	what = "blob " + repo + "@" + d.String()
	release, err := c.acquire(what)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.send(ctx, repo, what, http.MethodGet, c.base+"/v2/"+repo+"/blobs/"+d.String())
	if err != nil {
		release()
		return nil, 0, err
	}
	return &blobReader{
		c: c, ctx: ctx, what: what, body: resp.Body, release: release,
		want: d, hash: d.Algorithm().Hash(), size: resp.ContentLength,
	}, resp.ContentLength, nil
}

type blobReader struct {
	c       *Client
	ctx     context.Context
	what    string
	body    io.ReadCloser
	release func()
	want    digest.Digest
	hash    hash.Hash
	size    int64 // -1: unknown
	n       int64
	err     error // sticky: once failed or ended, always the same answer
}

func (r *blobReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.c.bandwidth != nil && len(p) > r.c.bandwidthChunk {
		p = p[:r.c.bandwidthChunk]
	}
	n, err := r.body.Read(p)
	if r.size >= 0 && r.n+int64(n) > r.size {
		n = int(r.size - r.n) // never hand out bytes past Content-Length
		r.err = r.c.fail(core.ErrInvalid, r.what, fmt.Sprintf("the upstream sent more than its Content-Length of %d bytes", r.size))
	}
	r.hash.Write(p[:n])
	r.n += int64(n)
	if r.err != nil {
		return n, r.err
	}
	if r.c.bandwidth != nil && n > 0 {
		if werr := r.c.bandwidth.Wait(r.ctx, n); werr != nil {
			r.err = r.c.wrapCall(r.ctx, r.what, werr)
			return n, r.err
		}
	}
	switch {
	case err == io.EOF:
		r.err = r.verify()
	case err != nil:
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = localError(core.ErrUnavailable, fmt.Sprintf("the transfer was cut after %d of %d bytes", r.n, r.size))
		}
		r.err = r.c.wrapCall(r.ctx, r.what, err)
	}
	return n, r.err
}

// verify decides what the end of the body means.
func (r *blobReader) verify() error {
	if r.size >= 0 && r.n != r.size {
		e := r.c.fail(core.ErrUnavailable, r.what, fmt.Sprintf("the transfer ended after %d of %d bytes", r.n, r.size))
		e.cause = io.ErrUnexpectedEOF
		return e
	}
	if got := digest.NewDigest(r.want.Algorithm(), r.hash); got != r.want {
		return r.c.fail(core.ErrInvalid, r.what, fmt.Sprintf("digest mismatch: the upstream's %d bytes are %s", r.n, got))
	}
	return io.EOF
}

// Close ends the transfer and frees the call's slot.
func (r *blobReader) Close() error {
	err := r.body.Close()
	r.release()
	if r.err == nil {
		r.err = fmt.Errorf("upstream %s: %s: read after Close", r.c.host, r.what)
	}
	return err
}
