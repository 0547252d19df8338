package memory

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// session is one upload's state, shared by every handle that resumes it.
// Lock order: session.mu before Driver.mu.
type session struct {
	mu      sync.Mutex
	id      string
	started time.Time
	updated time.Time
	data    []byte
	hash    *storage.Hasher // sha256 of data, as the filesystem driver keeps it
	gone    bool            // committed, cancelled or purged
}

// upload is a handle on a session.
type upload struct {
	d *Driver
	s *session
}

// NewUpload starts an empty session.
func (d *Driver) NewUpload(ctx context.Context) (storage.Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := storage.NewHasher(digest.SHA256)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s := &session{id: storage.NewUploadID(), started: now, updated: now, hash: h}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, taken := d.sessions[s.id]; taken { // 130 random bits: never, but cheap to check
		return nil, fmt.Errorf("upload ID collision %s", s.id)
	}
	d.sessions[s.id] = s
	return &upload{d: d, s: s}, nil
}

// ResumeUpload returns a handle on an existing session.
func (d *Driver) ResumeUpload(_ context.Context, id string) (storage.Upload, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.sessions[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", storage.ErrUploadUnknown, id)
	}
	return &upload{d: d, s: s}, nil
}

// PurgeUploads removes sessions last written before olderThan.
func (d *Driver) PurgeUploads(_ context.Context, olderThan time.Time) (int, error) {
	d.mu.Lock()
	all := make([]*session, 0, len(d.sessions))
	for _, s := range d.sessions {
		all = append(all, s)
	}
	d.mu.Unlock()

	n := 0
	for _, s := range all {
		s.mu.Lock()
		if !s.gone && s.updated.Before(olderThan) {
			d.end(s)
			n++
		}
		s.mu.Unlock()
	}
	return n, nil
}

// end forgets a session; the caller holds s.mu.
func (d *Driver) end(s *session) {
	s.gone = true
	d.mu.Lock()
	delete(d.sessions, s.id)
	d.mu.Unlock()
}

func (u *upload) ID() string           { return u.s.id }
func (u *upload) StartedAt() time.Time { return u.s.started }

func (u *upload) Size() int64 {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	return int64(len(u.s.data))
}

// Write reads r to the end before touching the session, so a reader that
// fails midway leaves the session exactly as it was.
func (u *upload) Write(ctx context.Context, r io.Reader) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	chunk, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return 0, fmt.Errorf("%w: %q", storage.ErrUploadUnknown, s.id)
	}
	_, _ = s.hash.Write(chunk) // hash.Hash never fails
	s.data = append(s.data, chunk...)
	s.updated = time.Now()
	return int64(len(chunk)), nil
}

// Commit publishes the session's bytes under dgst if they match it.
func (u *upload) Commit(_ context.Context, dgst digest.Digest) error {
	if err := storage.CheckDigest(dgst); err != nil {
		return err // the session stays for a corrected commit
	}
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return fmt.Errorf("%w: %q", storage.ErrUploadUnknown, s.id)
	}
	actual := s.hash.Digest()
	if dgst.Algorithm() != actual.Algorithm() {
		actual = dgst.Algorithm().FromBytes(s.data)
	}
	u.d.end(s)
	if actual != dgst {
		return fmt.Errorf("%w: expected %s, got %s", storage.ErrDigestMismatch, dgst, actual)
	}
	u.d.mu.Lock()
	defer u.d.mu.Unlock()
	if _, exists := u.d.blobs[dgst]; !exists {
		u.d.blobs[dgst] = s.data[:len(s.data):len(s.data)]
	}
	return nil
}

// Cancel discards the session.
func (u *upload) Cancel(context.Context) error {
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return fmt.Errorf("%w: %q", storage.ErrUploadUnknown, s.id)
	}
	u.d.end(s)
	return nil
}
