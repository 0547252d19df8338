package filesystem

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// NewUpload creates a session directory with an empty data file.
func (d *Driver) NewUpload(ctx context.Context) (storage.Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := storage.NewUploadID()
	st, err := d.createUpload(id)
	if err != nil {
		_ = os.RemoveAll(d.uploadPath(id, ""))
		return nil, err
	}
	return &upload{d: d, id: id, st: st}, nil
}

// createUpload makes the session directory durable with an empty data file
// and a state at offset 0. The empty file needs no fsync of its own: syncing
// the directory records it.
func (d *Driver) createUpload(id string) (state, error) {
	h, err := storage.NewHasher(digest.SHA256)
	if err != nil {
		return state{}, err
	}
	hs, err := h.MarshalBinary()
	if err != nil {
		return state{}, err
	}
	if err := os.Mkdir(d.uploadPath(id, ""), dirPerm); err != nil {
		return state{}, err
	}
	f, err := os.OpenFile(d.uploadPath(id, "data"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return state{}, err
	}
	if err := f.Close(); err != nil {
		return state{}, err
	}
	now := time.Now().UTC()
	st := state{Algorithm: h.Algorithm(), HashState: hs, StartedAt: now, UpdatedAt: now}
	if err := d.saveState(id, st); err != nil { // syncs the session directory
		return state{}, err
	}
	return st, d.syncDir(d.path("uploads"))
}

// ResumeUpload returns a handle on an existing session. It only reads: a
// status request must not disturb a Write in flight on the same session.
func (d *Driver) ResumeUpload(_ context.Context, id string) (storage.Upload, error) {
	if !storage.ValidUploadID(id) {
		return nil, fmt.Errorf("%w: %q", storage.ErrUploadUnknown, id)
	}
	st, err := d.loadState(id)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(d.uploadPath(id, "data"))
	if err != nil {
		return nil, uploadErr(id, err)
	}
	if err := checkDataSize(id, fi.Size(), st); err != nil {
		return nil, err
	}
	return &upload{d: d, id: id, st: st}, nil
}

// PurgeUploads removes sessions last written before olderThan. A session
// without a readable state (a crash inside NewUpload) counts from its
// directory's mtime.
func (d *Driver) PurgeUploads(ctx context.Context, olderThan time.Time) (int, error) {
	entries, err := os.ReadDir(d.path("uploads"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if !storage.ValidUploadID(e.Name()) {
			continue
		}
		last, ok := d.lastWrite(e)
		if !ok || !last.Before(olderThan) {
			continue
		}
		if err := os.RemoveAll(d.uploadPath(e.Name(), "")); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// lastWrite is when a session was last written, falling back to its
// directory's mtime when the state is unreadable; ok is false if it is gone.
func (d *Driver) lastWrite(e fs.DirEntry) (last time.Time, ok bool) {
	if st, err := d.loadState(e.Name()); err == nil {
		return st.UpdatedAt, true
	}
	fi, err := e.Info()
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}

func (d *Driver) removeUpload(id string) error {
	return os.RemoveAll(d.uploadPath(id, ""))
}

func (d *Driver) uploadPath(id, name string) string {
	return d.path("uploads", id, name)
}
