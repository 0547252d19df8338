// Package diskcache is a storage.Driver that keeps the hot blobs of a remote
// driver (S3, typically) in a local directory of bounded size, so that pulls
// of popular layers are answered with sendfile from a local file instead of a
// GET to the bucket every time.
//
//	remote, err := s3.New(ctx, "registry-blobs", ...)
//	d, err := diskcache.New(remote, "/var/cache/berth", 50<<30) // 50 GiB of disk
//	rc, err := d.Open(ctx, dgst) // an *os.File when cached: sendfile, Range
//	st := d.Stats()              // hits, misses, evictions, bytes held
//
// Only Open is cached. Upload sessions (NewUpload, ResumeUpload,
// PurgeUploads), Stat and Walk go to the remote driver untouched; Delete
// drops the cached copy first, then deletes remotely, so a blob removed by
// GC through this driver is never served from the cache.
//
// Open serves a cached copy when there is one and marks it recently used.
// On a miss it fetches the blob from the remote driver into a temporary file
// while hashing it, checks the digest and the remote size, and renames the
// file into place: a blob is in the cache only with verified content.
// Content that does not match is an error, ErrCorrupt, and a failed fetch
// leaves nothing behind. Concurrent Opens of one missing blob
// share one fetch and wait for it; the fetch goes on while at least one of
// them still waits, and is cancelled when all of them gave up. Blobs larger
// than maxBytes/4 (WithMaxObjectSize) are not cached: Open streams them from
// the remote driver.
//
// The cache holds at most maxBytes of blobs, evicting the least recently
// opened first; a fetch reserves room for its blob before it starts. An
// evicted file may still be open by a reader: its name is removed, the
// reader reads on, and the space is freed when it closes the file, so the
// disk may hold more than maxBytes for as long as such readers last.
//
// Layout, under dir (which belongs to one Driver, in one process):
//
//	<dir>/sha256/<hex>, <dir>/sha512/<hex>   cached blobs, named by digest
//	<dir>/tmp/                                fetches in progress, evicted files being removed
//
// Nothing is fsynced: it is a cache. On New, the files are adopted in the
// order of their modification time (Open refreshes it, at most once a
// minute per blob), tmp is emptied, files whose name is not a digest or
// whose size is over the object limit are removed, and the oldest are
// evicted down to maxBytes. Adopted files are verified lazily: the first
// Open of each rehashes it before serving it, since a crash can leave a file
// renamed into place without all of its content, and a file that does not
// match its name is removed and fetched again. Content is thus verified on
// fill and on the first use after a restart, not on every Open.
//
// The cache knows only of deletions made through it. A blob another process
// deletes from the remote store stays cached here until evicted; the
// registry checks its metadata before it opens a blob, so such a blob is not
// asked for.
package diskcache

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

const (
	dirPerm = 0o700
	tmpName = "tmp"
	// touchEvery bounds how often an Open rewrites a cached file's mtime,
	// the recency that survives a restart.
	touchEvery = time.Minute
	// maxLarge bounds the set of digests known to be too large to cache.
	maxLarge = 4096
)

// algorithms are the digest algorithms storage.CheckDigest accepts, one
// directory each.
var algorithms = []digest.Algorithm{digest.SHA256, digest.SHA512}

// Driver is a storage.Driver that caches remote's blobs in a directory. It
// is safe for concurrent use.
type Driver struct {
	remote    storage.Driver
	dir       string
	max       int64
	maxObject int64

	mu       sync.Mutex
	entries  map[digest.Digest]*entry
	lru      *list.List // of *entry, most recently used at the front
	bytes    int64      // sizes of the entries
	reserved int64      // sizes of the blobs being fetched
	fills    map[digest.Digest]*fill
	large    map[digest.Digest]struct{} // known to be over maxObject: never fetched for the cache
	trash    []string                   // evicted files renamed into tmp, removed after unlock
	stats    Stats
}

var _ storage.Driver = (*Driver)(nil)

// Option configures a Driver.
type Option func(*Driver)

// WithMaxObjectSize sets the largest blob the cache keeps (default a
// quarter of maxBytes; at most maxBytes). Larger blobs are streamed from
// the remote driver on every Open.
func WithMaxObjectSize(n int64) Option { return func(d *Driver) { d.maxObject = n } }

// Stats are the cache's counters since New, and what it holds now.
type Stats struct {
	Hits      int64 // Opens answered from a cached file without waiting for a fetch
	Misses    int64 // other Opens: they waited for a fetch, or streamed from remote
	HitBytes  int64 // sizes of the blobs opened by hits (not the bytes read: Range requests read less)
	Fills     int64 // blobs fetched from remote and cached
	Evictions int64 // files evicted to stay within maxBytes
	Files     int   // blobs cached now
	Bytes     int64 // their total size, at most maxBytes
}

// New returns a driver caching remote's blobs in dir, created if missing,
// within maxBytes. It adopts what a previous Driver left in dir.
func New(remote storage.Driver, dir string, maxBytes int64, opts ...Option) (*Driver, error) {
	if remote == nil {
		return nil, errors.New("diskcache: no remote driver")
	}
	if maxBytes <= 0 {
		return nil, fmt.Errorf("diskcache: size limit %d is not positive", maxBytes)
	}
	d := &Driver{
		remote:    remote,
		dir:       filepath.Clean(dir),
		max:       maxBytes,
		maxObject: maxBytes / 4,
		entries:   map[digest.Digest]*entry{},
		lru:       list.New(),
		fills:     map[digest.Digest]*fill{},
		large:     map[digest.Digest]struct{}{},
	}
	for _, opt := range opts {
		opt(d)
	}
	d.maxObject = min(d.maxObject, d.max)
	if err := d.adopt(); err != nil {
		return nil, fmt.Errorf("diskcache: %w", err)
	}
	return d, nil
}

// Stats returns the cache's counters and current size.
func (d *Driver) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.stats
	st.Files, st.Bytes = len(d.entries), d.bytes
	return st
}

// Stat returns remote's answer: a cached copy does not prove the blob
// still exists.
func (d *Driver) Stat(ctx context.Context, dgst digest.Digest) (int64, error) {
	return d.remote.Stat(ctx, dgst)
}

// Delete drops the cached copy, then deletes the blob from remote. A fetch
// of the blob in flight is not cached when it completes.
func (d *Driver) Delete(ctx context.Context, dgst digest.Digest) error {
	if err := storage.CheckDigest(dgst); err != nil {
		return err
	}
	d.mu.Lock()
	if e := d.entries[dgst]; e != nil {
		d.discardLocked(e)
	}
	if f := d.fills[dgst]; f != nil {
		f.dropped = true
	}
	d.unlock()
	return d.remote.Delete(ctx, dgst)
}

// Walk lists remote's blobs.
func (d *Driver) Walk(ctx context.Context, fn func(dgst digest.Digest, size int64) error) error {
	return d.remote.Walk(ctx, fn)
}

// NewUpload starts an upload session on remote.
func (d *Driver) NewUpload(ctx context.Context) (storage.Upload, error) {
	return d.remote.NewUpload(ctx)
}

// ResumeUpload resumes a session of remote.
func (d *Driver) ResumeUpload(ctx context.Context, id string) (storage.Upload, error) {
	return d.remote.ResumeUpload(ctx, id)
}

// PurgeUploads purges remote's stale sessions.
func (d *Driver) PurgeUploads(ctx context.Context, olderThan time.Time) (int, error) {
	return d.remote.PurgeUploads(ctx, olderThan)
}

// blobPath is where a cached blob lives; dgst has passed storage.CheckDigest.
func (d *Driver) blobPath(dgst digest.Digest) string {
	return filepath.Join(d.dir, string(dgst.Algorithm()), dgst.Encoded())
}

func (d *Driver) tmpDir() string { return filepath.Join(d.dir, tmpName) }

// unlock releases d.mu, then removes the files evicted while it was held:
// unlinking a large file can take a while, renaming it into tmp does not.
func (d *Driver) unlock() {
	trash := d.trash
	d.trash = nil
	d.mu.Unlock()
	for _, path := range trash {
		_ = os.Remove(path) // a leftover is removed by the next New
	}
}
