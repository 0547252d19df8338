package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// maxDecompressed bounds the unpacked size of an archive while its entries
// are checked, before Helm's loader applies its own limits.
const maxDecompressed = 100 << 20

// readLimited reads all of r, refusing more than limit bytes.
func readLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{What: what, Limit: limit}
	}
	return b, nil
}

// checkTar walks the archive's entries before Helm's loader sees it and
// returns the single top-level directory every entry lives under. Entries
// with absolute paths, parent-directory components, or links are refused.
func checkTar(archive []byte) (string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return "", fmt.Errorf("%w: not a gzip archive: %v", ErrInvalidChart, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var top string
	var total int64
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("%w: corrupt archive: %v", ErrInvalidChart, err)
		}
		switch hd.Typeflag {
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue
		case tar.TypeSymlink, tar.TypeLink:
			return "", fmt.Errorf("%w: archive entry %q is a link", ErrInvalidChart, hd.Name)
		}
		name := strings.ReplaceAll(hd.Name, "\\", "/")
		if name == "" || path.IsAbs(name) || (len(name) > 1 && name[1] == ':') {
			return "", fmt.Errorf("%w: archive entry %q has an absolute path", ErrInvalidChart, hd.Name)
		}
		parts := strings.Split(strings.TrimSuffix(name, "/"), "/")
		for _, p := range parts {
			if p == ".." {
				return "", fmt.Errorf("%w: archive entry %q references a parent directory", ErrInvalidChart, hd.Name)
			}
		}
		if top == "" {
			top = parts[0]
		} else if parts[0] != top {
			return "", fmt.Errorf("%w: archive entries are not under one directory (%q and %q)", ErrInvalidChart, top, parts[0])
		}
		total += hd.Size
		if total > maxDecompressed {
			return "", fmt.Errorf("%w: decompressed archive is larger than %d bytes", ErrInvalidChart, maxDecompressed)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return "", fmt.Errorf("%w: corrupt archive: %v", ErrInvalidChart, err)
		}
	}
	if top == "" {
		return "", fmt.Errorf("%w: empty archive", ErrInvalidChart)
	}
	return top, nil
}

// load validates an archive and returns its chart metadata.
func load(archive []byte) (*helmchart.Metadata, error) {
	top, err := checkTar(archive)
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidChart, err)
	}
	md := ch.Metadata
	if md == nil {
		return nil, fmt.Errorf("%w: Chart.yaml is missing", ErrInvalidChart)
	}
	if err := md.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidChart, err)
	}
	if !validName(md.Name) {
		return nil, fmt.Errorf("%w: chart name %q is not allowed", ErrInvalidChart, md.Name)
	}
	if _, err := semver.NewVersion(md.Version); err != nil {
		return nil, fmt.Errorf("%w: version %q is not a semantic version", ErrInvalidChart, md.Version)
	}
	if top != md.Name {
		return nil, fmt.Errorf("%w: archive directory %q does not match chart name %q in Chart.yaml", ErrInvalidChart, top, md.Name)
	}
	return md, nil
}

// validName accepts chart names that are safe in URLs and file names.
func validName(s string) bool {
	if s == "" || len(s) > 250 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

var errBadProject = errors.New("invalid project name")

func validProject(s string) bool { return validName(s) }
