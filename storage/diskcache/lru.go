package diskcache

import (
	"container/list"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
)

// entry is one cached file.
type entry struct {
	dgst     digest.Digest
	size     int64
	verified bool      // false for a file adopted by New until an Open rehashes it
	touched  time.Time // the file's mtime as last set
	elem     *list.Element
}

// insertLocked adds e as the most recently used entry.
func (d *Driver) insertLocked(e *entry) {
	e.elem = d.lru.PushFront(e)
	d.entries[e.dgst] = e
	d.bytes += e.size
}

// discardLocked forgets e and moves its file into tmp, for unlock to
// remove. Readers that have it open read on.
func (d *Driver) discardLocked(e *entry) {
	d.lru.Remove(e.elem)
	delete(d.entries, e.dgst)
	d.bytes -= e.size
	d.trashLocked(d.blobPath(e.dgst))
}

// trashLocked renames path into tmp, so that its name is free at once, and
// leaves the unlink to unlock.
func (d *Driver) trashLocked(path string) {
	trash := filepath.Join(d.tmpDir(), "evicted-"+rand.Text())
	if err := os.Rename(path, trash); err != nil {
		_ = os.Remove(path) // gone already, most likely
		return
	}
	d.trash = append(d.trash, trash)
}

// evictLocked drops the least recently used entries until the cached and
// reserved bytes fit within the limit.
func (d *Driver) evictLocked() {
	for d.bytes+d.reserved > d.max {
		back := d.lru.Back()
		if back == nil {
			return
		}
		d.discardLocked(back.Value.(*entry))
		d.stats.Evictions++
	}
}

// adopt creates dir's layout, empties tmp and takes in the files a previous
// Driver left, by name and size, oldest mtime least recently used. Files
// that cannot be cached blobs are removed; the rest are verified on first
// Open.
func (d *Driver) adopt() error {
	if err := os.RemoveAll(d.tmpDir()); err != nil {
		return err
	}
	if err := os.MkdirAll(d.tmpDir(), dirPerm); err != nil {
		return err
	}
	var found []*entry
	for _, alg := range algorithms {
		algDir := filepath.Join(d.dir, string(alg))
		if err := os.MkdirAll(algDir, dirPerm); err != nil {
			return err
		}
		files, err := os.ReadDir(algDir)
		if err != nil {
			return err
		}
		for _, file := range files {
			path := filepath.Join(algDir, file.Name())
			info, err := file.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			} else if err != nil {
				return err
			}
			dgst := digest.NewDigestFromEncoded(alg, file.Name())
			if !file.Type().IsRegular() || dgst.Validate() != nil || info.Size() > d.maxObject {
				if err := os.RemoveAll(path); err != nil {
					return err
				}
				continue
			}
			found = append(found, &entry{dgst: dgst, size: info.Size(), touched: info.ModTime()})
		}
	}
	slices.SortFunc(found, func(a, b *entry) int { return a.touched.Compare(b.touched) })
	d.mu.Lock()
	for _, e := range found {
		d.insertLocked(e) // newest last, so at the front
	}
	d.evictLocked()
	d.unlock()
	return nil
}
