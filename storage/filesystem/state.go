package filesystem

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// state is an upload session's durable record, kept next to its data file.
// Only what it says is acknowledged: data may hold more after a crash.
type state struct {
	Offset    int64            `json:"offset"`
	Algorithm digest.Algorithm `json:"algorithm"`
	HashState []byte           `json:"hash_state"` // storage.Hasher.MarshalBinary, base64 in JSON
	StartedAt time.Time        `json:"started_at"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// hasher restores the running hash of the first Offset bytes.
func (s state) hasher() (*storage.Hasher, error) {
	return storage.RestoreHasher(s.Algorithm, s.HashState)
}

// loadState reads a session's state; a missing one is ErrUploadUnknown.
func (d *Driver) loadState(id string) (state, error) {
	var s state
	b, err := os.ReadFile(d.uploadPath(id, "state"))
	if errors.Is(err, fs.ErrNotExist) {
		return s, fmt.Errorf("%w: %s", storage.ErrUploadUnknown, id)
	} else if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("upload %s: corrupt state: %w", id, err)
	}
	if s.Offset < 0 {
		return s, fmt.Errorf("upload %s: corrupt state: offset %d", id, s.Offset)
	}
	return s, nil
}

// saveState replaces a session's state atomically: a crash leaves either the
// old state or the new one, never a torn file.
func (d *Driver) saveState(id string, s state) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := d.uploadPath(id, "state.tmp")
	if err := d.writeFile(tmp, b); err != nil {
		return err
	}
	if err := os.Rename(tmp, d.uploadPath(id, "state")); err != nil {
		return err
	}
	return d.syncDir(filepath.Dir(tmp))
}

// writeFile writes b to a new or truncated file and flushes it to disk.
func (d *Driver) writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && d.fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
