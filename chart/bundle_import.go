package chart

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/core"
	"github.com/opencontainers/go-digest"
)

// DefaultMaxBundleSize bounds an imported bundle (1 GiB): its compressed
// bytes and the sum of the sizes its manifest declares.
const DefaultMaxBundleSize = 1 << 30

// Bounds on a bundle's manifest.
const (
	maxBundleManifest = 8 << 20
	maxBundleVersions = 10_000
)

// ErrInvalidBundle: an import bundle is malformed, names files it does not
// hold (or holds files it does not name), or holds bytes that do not match
// their digests.
var ErrInvalidBundle = core.New(core.ErrInvalid, "invalid chart bundle")

// WithMaxBundleSize bounds imported bundles (default DefaultMaxBundleSize).
func WithMaxBundleSize(n int64) Option { return func(r *Repo) { r.maxBundle = n } }

// MaxBundleSize is the bound on imported bundles.
func (r *Repo) MaxBundleSize() int64 { return r.maxBundle }

// ImportedVersion names one chart version of an import.
type ImportedVersion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ImportResult says what an import did.
type ImportResult struct {
	// Imported were uploaded; Skipped were already stored with the same
	// digest (importing a bundle twice imports nothing the second time).
	Imported []ImportedVersion `json:"imported"`
	Skipped  []ImportedVersion `json:"skipped"`
}

// Import reads a bundle that Export wrote and uploads each of its chart
// versions to project as Upload does (same validation, same events).
// Nothing is stored unless the whole bundle is valid: every entry is the
// manifest or a file it names (so no entry's name reaches the file system),
// every file matches its declared size and digest, every archive is a
// valid chart of the name and version the manifest gives, and no version
// is stored already with another digest (ErrExists). Versions stored with
// the same digest are skipped. The bundle is spooled to a temporary
// directory, bounded by the sizes WithMaxBundleSize allows.
func (r *Repo) Import(ctx context.Context, project string, bundle io.Reader) (*ImportResult, error) {
	if _, err := r.readID(ctx, project); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "berth-chart-import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	m, paths, err := r.readBundle(bundle, dir)
	if err != nil {
		return nil, err
	}
	res := &ImportResult{Imported: []ImportedVersion{}, Skipped: []ImportedVersion{}}
	var todo []BundledChart
	for _, c := range m.Charts {
		if err := r.checkBundled(c, paths); err != nil {
			return nil, err
		}
		same, err := r.storedAs(ctx, project, c)
		if err != nil {
			return nil, err
		}
		if same {
			res.Skipped = append(res.Skipped, ImportedVersion{c.Name, c.Version})
			continue
		}
		todo = append(todo, c)
	}
	for _, c := range todo {
		if err := r.uploadBundled(ctx, project, c, paths); err != nil {
			return res, fmt.Errorf("chart %s %s: %w", c.Name, c.Version, err)
		}
		res.Imported = append(res.Imported, ImportedVersion{c.Name, c.Version})
	}
	return res, nil
}

// readBundle reads the manifest and spools the files it names to dir;
// paths maps each file's bundle name to its spooled path.
func (r *Repo) readBundle(bundle io.Reader, dir string) (*BundleManifest, map[string]string, error) {
	zr, err := gzip.NewReader(bundle)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: not a gzip stream: %v", ErrInvalidBundle, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	hd, err := tr.Next()
	if err != nil {
		return nil, nil, bundleErr(err)
	}
	if hd.Name != BundleManifestName || hd.Typeflag != tar.TypeReg {
		return nil, nil, fmt.Errorf("%w: the first entry is %q, not %s", ErrInvalidBundle, hd.Name, BundleManifestName)
	}
	if hd.Size > maxBundleManifest {
		return nil, nil, &TooLargeError{What: "bundle manifest", Limit: maxBundleManifest}
	}
	var m BundleManifest
	dec := json.NewDecoder(io.LimitReader(tr, maxBundleManifest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, nil, fmt.Errorf("%w: manifest: %v", ErrInvalidBundle, err)
	}
	want, err := r.checkManifest(&m)
	if err != nil {
		return nil, nil, err
	}
	paths := map[string]string{}
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, bundleErr(err)
		}
		f, ok := want[hd.Name]
		switch {
		case !ok:
			return nil, nil, fmt.Errorf("%w: entry %q is not a file the manifest names", ErrInvalidBundle, hd.Name)
		case paths[hd.Name] != "":
			return nil, nil, fmt.Errorf("%w: entry %q appears twice", ErrInvalidBundle, hd.Name)
		case hd.Typeflag != tar.TypeReg:
			return nil, nil, fmt.Errorf("%w: entry %q is not a regular file", ErrInvalidBundle, hd.Name)
		case hd.Size != f.size:
			return nil, nil, fmt.Errorf("%w: entry %q has %d bytes, the manifest says %d", ErrInvalidBundle, hd.Name, hd.Size, f.size)
		}
		p := filepath.Join(dir, strconv.Itoa(len(paths)))
		if err := spool(tr, p, f); err != nil {
			return nil, nil, err
		}
		paths[hd.Name] = p
	}
	for name := range want {
		if paths[name] == "" {
			return nil, nil, fmt.Errorf("%w: the manifest names %q, which the bundle does not hold", ErrInvalidBundle, name)
		}
	}
	// Read the input to its end, so a bound on it (the handler's) holds
	// for bytes after the archive too.
	if _, err := io.Copy(io.Discard, bundle); err != nil {
		return nil, nil, bundleErr(err)
	}
	return &m, paths, nil
}

// checkManifest validates m and returns the files it names.
func (r *Repo) checkManifest(m *BundleManifest) (map[string]bundledFile, error) {
	if m.Format != BundleFormat {
		return nil, fmt.Errorf("%w: format %q, want %s", ErrInvalidBundle, m.Format, BundleFormat)
	}
	if len(m.Charts) > maxBundleVersions {
		return nil, fmt.Errorf("%w: more than %d chart versions", ErrInvalidBundle, maxBundleVersions)
	}
	want := map[string]bundledFile{}
	var total int64
	for _, c := range m.Charts {
		if !validName(c.Name) || !validVersion(c.Version) {
			return nil, fmt.Errorf("%w: chart %q version %q", ErrInvalidBundle, c.Name, c.Version)
		}
		if c.File != bundleFile(c.Name, c.Version) || (c.ProvFile != "" && c.ProvFile != c.File+".prov") {
			return nil, fmt.Errorf("%w: chart %s %s: files %q and %q; want %q and its .prov",
				ErrInvalidBundle, c.Name, c.Version, c.File, c.ProvFile, bundleFile(c.Name, c.Version))
		}
		if (c.ProvFile == "") != (c.ProvDigest == "") {
			return nil, fmt.Errorf("%w: chart %s %s: a provenance file needs both prov_file and prov_digest", ErrInvalidBundle, c.Name, c.Version)
		}
		for _, f := range c.files() {
			limit, what := r.maxSize, "chart archive"
			if f.prov {
				limit, what = maxProvSize, "provenance file"
			}
			if d, err := digest.Parse(string(f.digest)); err != nil || d.Algorithm() != digest.SHA256 {
				return nil, fmt.Errorf("%w: %s: digest %q is not sha256:<hex>", ErrInvalidBundle, f.name, f.digest)
			}
			if f.size < 0 {
				return nil, fmt.Errorf("%w: %s: negative size", ErrInvalidBundle, f.name)
			}
			if f.size > limit {
				return nil, &TooLargeError{What: what + " " + f.name, Limit: limit}
			}
			if _, dup := want[f.name]; dup {
				return nil, fmt.Errorf("%w: chart %s %s is listed twice", ErrInvalidBundle, c.Name, c.Version)
			}
			want[f.name] = f
			total += f.size
		}
	}
	if total > r.maxBundle {
		return nil, &TooLargeError{What: "chart bundle", Limit: r.maxBundle}
	}
	return want, nil
}

// spool writes the entry's bytes to path, checking them against f.
func spool(rd io.Reader, path string, f bundledFile) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	vr := f.digest.Verifier()
	_, err = io.Copy(io.MultiWriter(out, vr), io.LimitReader(rd, f.size))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return bundleErr(err)
	}
	if !vr.Verified() {
		return fmt.Errorf("%w: %s does not match its digest %s", ErrInvalidBundle, f.name, f.digest)
	}
	return nil
}

// checkBundled validates a spooled version as Upload would, before
// anything of the bundle is stored.
func (r *Repo) checkBundled(c BundledChart, paths map[string]string) error {
	data, err := os.ReadFile(paths[c.File])
	if err != nil {
		return err
	}
	md, err := load(data)
	if err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	if md.Name != c.Name || md.Version != c.Version {
		return fmt.Errorf("%w: %s holds chart %s %s", ErrInvalidBundle, c.File, md.Name, md.Version)
	}
	if c.ProvFile != "" && r.keyring != "" {
		prov, err := os.ReadFile(paths[c.ProvFile])
		if err != nil {
			return err
		}
		return verifyProvenance(r.keyring, archiveFile(c.Name, c.Version), data, prov)
	}
	return nil
}

// storedAs reports whether project holds c with c's digest; ErrExists
// when it holds another archive under c's version.
func (r *Repo) storedAs(ctx context.Context, project string, c BundledChart) (bool, error) {
	v, err := r.Get(ctx, project, c.Name, c.Version)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case "sha256:"+v.Digest == c.Digest:
		return true, nil
	}
	return false, fmt.Errorf("%w: %s %s with another digest (sha256:%s; the bundle's is %s); delete it first",
		ErrExists, c.Name, c.Version, v.Digest, c.Digest)
}

func (r *Repo) uploadBundled(ctx context.Context, project string, c BundledChart, paths map[string]string) error {
	archive, err := os.Open(paths[c.File])
	if err != nil {
		return err
	}
	defer archive.Close()
	var prov io.Reader
	if c.ProvFile != "" {
		f, err := os.Open(paths[c.ProvFile])
		if err != nil {
			return err
		}
		defer f.Close()
		prov = f
	}
	_, err = r.Upload(ctx, project, archive, prov, false)
	if errors.Is(err, ErrExists) {
		// Stored meanwhile: fine if with the same bytes.
		if same, serr := r.storedAs(ctx, project, c); serr != nil || same {
			return serr
		}
	}
	return err
}

// bundleErr reports a read error of a bundle: a body over the server's
// bound stays a size error, anything else is a malformed bundle.
func bundleErr(err error) error {
	var tl *TooLargeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &tl):
		return err
	case errors.As(err, &mbe):
		return &TooLargeError{What: "chart bundle", Limit: mbe.Limit}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated", ErrInvalidBundle)
	}
	return fmt.Errorf("%w: %v", ErrInvalidBundle, err)
}

// validVersion accepts a version that is safe in a file name and a URL
// (a semantic version's characters); load checks it is one.
func validVersion(s string) bool {
	if s == "" || len(s) > 250 || s[0] == '.' || s[0] == '-' || strings.Contains(s, "..") {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+") == ""
}
