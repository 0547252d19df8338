package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/filesystem"
)

// RestoreReport is what Restore rebuilt.
type RestoreReport struct {
	Generation   string    // the backup's generation restored
	Created      time.Time // when the backup was taken
	BerthVersion string    // the server version that took it
	Blobs        int
	BlobBytes    int64
	Files        int
}

// Restore rebuilds a data directory at dataDir from the backup directory
// from (written by Backup). dataDir must not exist or be empty. The
// manifest, the database snapshot's sha256, every file's and every blob's
// digest are verified; the directory is assembled beside dataDir and
// renamed into place at the end, so a failed restore leaves nothing
// half-made. A server then starts from dataDir; verify it first with
// Check.
func Restore(ctx context.Context, from, dataDir string) (RestoreReport, error) {
	var rep RestoreReport
	if err := emptyOrAbsent(dataDir); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	root, err := os.OpenRoot(from)
	if err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	defer root.Close()
	m, err := readManifest(root)
	if err != nil {
		return rep, fmt.Errorf("restore: %s: %w", from, err)
	}
	rep.Generation, rep.Created, rep.BerthVersion = m.Generation, m.Created, m.BerthVersion
	// A new directory is assembled beside dataDir and renamed. An empty
	// dataDir (perhaps a volume's mount point, which cannot be replaced)
	// is filled from one assembled inside it, the database moved last.
	parent, inPlace := filepath.Dir(filepath.Clean(dataDir)), false
	if _, err := os.Stat(dataDir); err == nil {
		parent, inPlace = dataDir, true
	}
	tmp, err := os.MkdirTemp(parent, ".berth-restore-*")
	if err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(tmp) // fails harmlessly once renamed
	if err := restoreInto(ctx, root, from, m, tmp, &rep); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	if inPlace {
		err = moveUp(tmp, dataDir)
	} else {
		err = os.Rename(tmp, dataDir)
	}
	if err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	return rep, syncDir(parent)
}

// moveUp moves tmp's entries into dir, the database last: without it dir
// is not a data directory yet.
func moveUp(tmp, dir string) error {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != dbFile {
			if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Rename(filepath.Join(tmp, dbFile), filepath.Join(dir, dbFile)); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// restoreInto writes the generation m names into the new data directory
// dir, verifying everything it copies.
func restoreInto(ctx context.Context, root *os.Root, from string, m *backupManifest, dir string, rep *RestoreReport) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	out, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := copyVerified(root, path.Join(m.Generation, dbFile), out, dbFile, m.Database); err != nil {
		return err
	}
	list, err := readVerified(root, path.Join(m.Generation, blobListFile), m.BlobList)
	if err != nil {
		return err
	}
	blobs, err := parseBlobList(list)
	if err != nil {
		return err
	}
	if len(blobs) != m.Blobs {
		return fmt.Errorf("%s lists %d blobs, the manifest %d", blobListFile, len(blobs), m.Blobs)
	}
	if err := restoreBlobs(ctx, filepath.Join(from, storageDir), filepath.Join(dir, storageDir), blobs, rep); err != nil {
		return err
	}
	for _, f := range m.Files {
		if err := out.MkdirAll(path.Dir(f.Path), 0o700); err != nil {
			return err
		}
		if err := copyVerified(root, path.Join(m.Generation, filesDir, f.Path), out, f.Path, f); err != nil {
			return err
		}
		rep.Files++
	}
	return syncDir(dir)
}

// restoreBlobs copies each listed blob from the backup's store into the
// new data directory's, verified against its digest and size.
func restoreBlobs(ctx context.Context, src, dst string, blobs []blobEntry, rep *RestoreReport) error {
	if _, err := os.Stat(src); err != nil && len(blobs) > 0 {
		return fmt.Errorf("the backup has no blob store: %w", err)
	}
	from, err := filesystem.New(src)
	if err != nil {
		return err
	}
	to, err := filesystem.New(dst)
	if err != nil {
		return err
	}
	for _, b := range blobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		rc, err := from.Open(ctx, b.digest)
		if errors.Is(err, storage.ErrBlobUnknown) {
			return fmt.Errorf("blob %s is missing from the backup", b.digest)
		} else if err != nil {
			return err
		}
		n, err := storage.Put(ctx, to, b.digest, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("blob %s in the backup is damaged: %w", b.digest, err)
		}
		if n != b.size {
			return fmt.Errorf("blob %s in the backup is %d bytes, the list says %d", b.digest, n, b.size)
		}
		rep.Blobs++
		rep.BlobBytes += n
	}
	return nil
}

// readVerified reads a small file of the backup, checked against want.
func readVerified(root *os.Root, name string, want fileEntry) (io.Reader, error) {
	b, err := root.ReadFile(name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != want.SHA256 || int64(len(b)) != want.Size {
		return nil, fmt.Errorf("%s does not match its sha256 in %s: the backup is damaged", name, manifestFile)
	}
	return bytes.NewReader(b), nil
}

// copyVerified copies the backup's file name to the new data directory's
// dst (0600, fsynced), and fails when it does not match want.
func copyVerified(root *os.Root, name string, out *os.Root, dst string, want fileEntry) error {
	src, err := root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is missing from the backup", name)
	} else if err != nil {
		return err
	}
	defer src.Close()
	f, err := out.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	// One byte past the expected size shows a longer file.
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(src, want.Size+1))
	if err == nil {
		err = f.Sync()
	}
	if err := errors.Join(err, f.Close()); err != nil {
		return err
	}
	if n != want.Size || hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return fmt.Errorf("%s does not match its sha256 in %s: the backup is damaged", name, manifestFile)
	}
	return nil
}

// emptyOrAbsent refuses a directory that holds anything.
func emptyOrAbsent(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty: restore into a new directory", dir)
	}
	return nil
}
