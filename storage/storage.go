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
	"errors"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
)

// Errors every driver returns (wrapped or bare); match them with errors.Is.
var (
	ErrBlobUnknown     = errors.New("blob unknown")
	ErrUploadUnknown   = errors.New("upload unknown")
	ErrDigestMismatch  = errors.New("content does not match digest")
	ErrUnsupportedAlgo = errors.New("unsupported digest algorithm")
)

// Blobs reads and removes committed content.
type Blobs interface {
	// Stat returns the size of a committed blob, or ErrBlobUnknown.
	Stat(ctx context.Context, dgst digest.Digest) (int64, error)
	// Open returns the blob's content. Drivers backed by files return an
	// *os.File so net/http can use sendfile and serve Range requests.
	Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, error)
	// Delete removes a blob; deleting an unknown blob returns ErrBlobUnknown.
	Delete(ctx context.Context, dgst digest.Digest) error
	// Walk calls fn for every committed blob, in no particular order.
	Walk(ctx context.Context, fn func(dgst digest.Digest, size int64) error) error
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

// Upload is one in-progress blob write. It is not safe for concurrent use;
// the registry serialises requests on the same session.
type Upload interface {
	ID() string
	// Size is the acknowledged offset: every byte below it is durable.
	Size() int64
	// StartedAt is when the session was created.
	StartedAt() time.Time
	// Write appends r to the session and returns the bytes appended. When it
	// returns without error the new offset and hash state are durable. On
	// error the session stays at its previous offset.
	Write(ctx context.Context, r io.Reader) (int64, error)
	// Commit verifies that the content matches dgst and publishes it as a
	// blob atomically; the session is gone afterwards. On ErrDigestMismatch
	// nothing is published and the session is removed.
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
