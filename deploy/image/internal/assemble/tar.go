package assemble

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of a layer: a directory when Body is nil and Dir is
// set, else a regular file.
type File struct {
	Path     string // relative, slash-separated: "usr/bin/berth"
	Dir      bool
	Mode     int64 // permission bits, with sticky etc. (0o1777)
	UID, GID int
	Body     []byte
}

// Layer makes a gzip-compressed OCI layer of files, reproducibly: entries
// sorted by path, every mtime mtime, no user or group names, USTAR
// headers (no access times), a fixed gzip level and an empty gzip header.
func Layer(files []File, mtime time.Time) (v1.Layer, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	mtime = mtime.UTC().Truncate(time.Second)
	for i, f := range files {
		p := path.Clean(f.Path)
		if p == "." || path.IsAbs(p) || strings.HasPrefix(p, "../") || p != f.Path {
			return nil, fmt.Errorf("assemble: file path %q: want a clean relative path", f.Path)
		}
		if i > 0 && files[i-1].Path == p {
			return nil, fmt.Errorf("assemble: %q twice in one layer", p)
		}
		h := &tar.Header{Name: p, Mode: f.Mode, Uid: f.UID, Gid: f.GID, ModTime: mtime, Format: tar.FormatUSTAR}
		if f.Dir {
			h.Typeflag, h.Name = tar.TypeDir, p+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("assemble: %s: %w", p, err)
		}
		if _, err := tw.Write(f.Body); err != nil {
			return nil, fmt.Errorf("assemble: %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("assemble: %w", err)
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := gz.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
