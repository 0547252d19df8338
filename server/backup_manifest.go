package server

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// The backup directory's layout (see Backup).
const (
	manifestFile = "backup.json"
	blobListFile = "blobs.list"
	filesDir     = "files"
	backupFormat = 1
	// maxManifest bounds what Restore reads of a manifest: a backup
	// directory may come from anywhere.
	maxManifest = 16 << 20
)

// backupManifest is backup.json: what one generation of a backup holds.
type backupManifest struct {
	Format       int         `json:"format"`
	Created      time.Time   `json:"created"`
	BerthVersion string      `json:"berth_version"`
	Generation   string      `json:"generation"`
	Database     fileEntry   `json:"database"`
	BlobList     fileEntry   `json:"blob_list"`
	Blobs        int         `json:"blobs"`
	BlobBytes    int64       `json:"blob_bytes"`
	Files        []fileEntry `json:"files"`
}

// fileEntry is a file of the generation: its path (relative to the
// generation, or for Files to the data directory), size and sha256.
type fileEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// notState are the data directory's entries that are not copied as
// files: the database (snapshotted), the blobs (copied by digest), the
// lock and the proxy cache's spool of fills in flight.
var notState = map[string]bool{
	dbFile: true, dbFile + "-wal": true, dbFile + "-shm": true, dbFile + "-journal": true,
	lockFile: true, storageDir: true, "proxy-spool": true,
}

var generationName = regexp.MustCompile(`^gen-[0-9A-Za-z.]+$`)

// errIncomplete marks a directory without a manifest.
var errIncomplete = errors.New("no " + manifestFile + ": the backup is incomplete (interrupted before its end) or this is not a backup directory")

// writeManifest writes dir/backup.json atomically: the backup's commit.
func writeManifest(dir string, m *backupManifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = writeDurable(filepath.Join(dir, manifestFile), strings.NewReader(string(b)+"\n"))
	return err
}

// readManifest reads and validates backup.json in the backup root: every
// name in it is one this package writes, so a tampered manifest cannot
// make Restore read or write outside the places it expects.
func readManifest(root *os.Root) (*backupManifest, error) {
	f, err := root.Open(manifestFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errIncomplete
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	var m backupManifest
	dec := json.NewDecoder(io.LimitReader(f, maxManifest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestFile, err)
	}
	if m.Format != backupFormat {
		return nil, fmt.Errorf("%s: format %d, this berth reads format %d", manifestFile, m.Format, backupFormat)
	}
	if !generationName.MatchString(m.Generation) {
		return nil, fmt.Errorf("%s: generation %q is not a generation name", manifestFile, m.Generation)
	}
	if m.Database.Path != dbFile || m.BlobList.Path != blobListFile {
		return nil, fmt.Errorf("%s: unexpected database %q or blob list %q", manifestFile, m.Database.Path, m.BlobList.Path)
	}
	seen := map[string]bool{}
	for _, e := range append([]fileEntry{m.Database, m.BlobList}, m.Files...) {
		if _, err := hex.DecodeString(e.SHA256); err != nil || len(e.SHA256) != 2*sha256.Size || e.Size < 0 {
			return nil, fmt.Errorf("%s: %s: bad sha256 or size", manifestFile, e.Path)
		}
	}
	for _, e := range m.Files {
		top, _, _ := strings.Cut(e.Path, "/")
		if !filepath.IsLocal(e.Path) || filepath.Clean(e.Path) != e.Path || strings.ContainsRune(e.Path, '\\') ||
			notState[top] || seen[e.Path] {
			return nil, fmt.Errorf("%s: file path %q refused", manifestFile, e.Path)
		}
		seen[e.Path] = true
	}
	return &m, nil
}

// describeFile hashes dir/name.
func describeFile(dir, name string) (fileEntry, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return fileEntry{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return fileEntry{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, err
}

// writeBlobList writes gen/blobs.list, a "<digest> <size>" line per blob.
func writeBlobList(gen string, blobs []blobEntry) (fileEntry, error) {
	var b strings.Builder
	for _, e := range blobs {
		fmt.Fprintf(&b, "%s %d\n", e.digest, e.size)
	}
	e, err := writeDurable(filepath.Join(gen, blobListFile), strings.NewReader(b.String()))
	e.Path = blobListFile
	return e, err
}

// parseBlobList reads a blob list, refusing what is not one.
func parseBlobList(r io.Reader) ([]blobEntry, error) {
	var out []blobEntry
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		d, size, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseInt(size, 10, 64)
		if !ok || err != nil || n < 0 || storage.CheckDigest(digest.Digest(d)) != nil {
			return nil, fmt.Errorf("%s line %d: not \"<digest> <size>\"", blobListFile, line)
		}
		out = append(out, blobEntry{digest: digest.Digest(d), size: n})
	}
	return out, sc.Err()
}

// copyStateFiles copies the data directory's keys and state files (all
// but notState, regular files only) into to, and describes them.
func copyStateFiles(dataDir, to string) ([]fileEntry, error) {
	var out []fileEntry
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dataDir, path)
		if err != nil || rel == "." {
			return err
		}
		if top, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); notState[top] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // directories are made for their files; links are not state berth writes
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(to, rel)), 0o700); err != nil {
			return err
		}
		e, err := writeDurable(filepath.Join(to, rel), src)
		e.Path = filepath.ToSlash(rel)
		out = append(out, e)
		return err
	})
	return out, err
}

// writeDurable writes r to path through a temporary file, fsynced and
// renamed into place, the directory fsynced after: path holds all of r or
// what it held before. The file is private (0600).
func writeDurable(path string, r io.Reader) (fileEntry, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fileEntry{}, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err == nil {
		err = tmp.Sync()
	}
	if err := errors.Join(err, tmp.Close()); err != nil {
		return fileEntry{}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fileEntry{}, err
	}
	return fileEntry{Path: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, syncDir(filepath.Dir(path))
}

// syncDir makes dir's entries durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
