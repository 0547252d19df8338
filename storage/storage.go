// Package storage defines berth's content-addressed blob store: bytes live
// once, by digest, and are written only through upload sessions that verify
// the digest before anything becomes readable.
//
// A Driver is what the registry consumes. Drivers live in sub-packages
// (filesystem, memory, later s3) and all pass the one suite in storagetest.
//
//	d, err := filesystem.New("/var/lib/berth/blobs")
//	up, err := d.NewUpload(ctx)
//	_, err = up.Write(ctx, layer)             // may be called many times (chunks)
//	err = up.Commit(ctx, dgst)                // verifies, then publishes atomically
//	rc, err := d.Open(ctx, dgst)              // *os.File on disk: sendfile + Range
package storage

import (
	"context"
	"github.com/berthlabs/berth/core"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
)

// Errors every driver returns (wrapped or bare); match them with errors.Is.
var (
	ErrBlobUnknown     = core.New(core.ErrNotFound, "blob unknown")
	ErrUploadUnknown   = core.New(core.ErrNotFound, "upload unknown")
	ErrDigestMismatch  = core.New(core.ErrInvalid, "content does not match digest")
	ErrUnsupportedAlgo = core.New(core.ErrInvalid, "unsupported digest algorithm")
)

// Blobs reads and removes committed content.
type Blobs interface {
	// Stat returns the size of a committed blob, or ErrBlobUnknown. Like
	// Open and Delete it returns an error for a malformed digest.
	Stat(ctx context.Context, dgst digest.Digest) (int64, error)
	// Open returns the blob's content. Drivers backed by files return an
	// *os.File so net/http can use sendfile and serve Range requests.
	Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, error)
	// Delete removes a blob; deleting an unknown blob returns ErrBlobUnknown.
	Delete(ctx context.Context, dgst digest.Digest) error
	// Walk calls fn for every committed blob, in no particular order.
	Walk(ctx context.Context, fn func(dgst digest.Digest, size int64) error) error
}

// Redirector is implemented by drivers whose blobs clients can fetch from
// the store itself (an object store's presigned URLs): a registry may
// answer a blob GET with a redirect there, so the bytes bypass it.
type Redirector interface {
	// RedirectURL returns a URL serving the committed blob dgst for a
	// limited time, or ErrBlobUnknown.
	RedirectURL(ctx context.Context, dgst digest.Digest) (string, error)
}

// Uploads creates and resumes upload sessions.
type Uploads interface {
	// NewUpload starts an empty upload session.
	NewUpload(ctx context.Context) (Upload, error)
	// ResumeUpload reopens a session by ID, also after a process restart,
	// at its last acknowledged offset. Unknown IDs give ErrUploadUnknown.
	ResumeUpload(ctx context.Context, id string) (Upload, error)
	// PurgeUploads removes sessions last written before the cutoff.
	PurgeUploads(ctx context.Context, olderThan time.Time) (int, error)
}

// Driver is a content-addressed store with durable upload sessions.
type Driver interface {
	Blobs
	Uploads
}

// Upload is one in-progress blob write. It is not safe for concurrent use,
// and callers serialise writes to one session (the registry locks per
// session within a process; across processes a session is only ever written
// by the node a client talks to, and a client sends one chunk at a time).
type Upload interface {
	// ID is the session's ID, of NewUploadID's form.
	ID() string
	// Size is the acknowledged offset as this handle last saw it: every byte
	// below it is durable. Resume the session for a fresh value.
	Size() int64
	// StartedAt is when the session was created.
	StartedAt() time.Time
	// Write appends r until io.EOF and returns the bytes appended. When it
	// returns without error the new offset and hash state are durable. Any
	// other error from r, io.ErrUnexpectedEOF included, is a failure: the
	// session stays at its previous offset and Write returns 0.
	Write(ctx context.Context, r io.Reader) (int64, error)
	// Commit verifies that the content matches dgst and publishes it as a
	// blob atomically; the session is gone afterwards. On ErrDigestMismatch
	// (whose message names both digests) nothing is published and the
	// session is removed. A malformed or unsupported digest is an error that
	// keeps the session, so the client may retry with the right one.
	Commit(ctx context.Context, dgst digest.Digest) error
	// Cancel discards the session.
	Cancel(ctx context.Context) error
}

// Put stores r as a blob with the given digest through an upload session.
func Put(ctx context.Context, d Uploads, dgst digest.Digest, r io.Reader) (int64, error) {
	up, err := d.NewUpload(ctx)
	if err != nil {
		return 0, err
	}
	n, err := up.Write(ctx, r)
	if err != nil {
		_ = up.Cancel(ctx)
		return n, err
	}
	if err := up.Commit(ctx, dgst); err != nil {
		return n, err
	}
	return n, nil
}
