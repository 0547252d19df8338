package chart

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
)

// BundleFormat names the format of an export bundle: a tar.gz whose first
// entry is BundleManifestName, followed by every version's archive (and
// .prov) under the file names the manifest gives.
const BundleFormat = "berth.chart-bundle.v1"

// BundleManifestName is the name of a bundle's manifest entry.
const BundleManifestName = "manifest.json"

// BundleManifest lists a bundle's chart versions with their digests.
type BundleManifest struct {
	Format  string         `json:"format"`
	Project string         `json:"project"`
	Created time.Time      `json:"created"`
	Charts  []BundledChart `json:"charts"`
}

// BundledChart is one chart version of a bundle.
type BundledChart struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	File    string `json:"file"`   // charts/<name>-<version>.tgz
	Digest  string `json:"digest"` // sha256:<hex> of the archive
	Size    int64  `json:"size"`
	// ProvFile, ProvDigest and ProvSize describe the provenance file, if
	// the version has one.
	ProvFile   string `json:"prov_file,omitempty"`
	ProvDigest string `json:"prov_digest,omitempty"`
	ProvSize   int64  `json:"prov_size,omitempty"`
}

// bundledFile is one file of a bundle.
type bundledFile struct {
	name   string
	digest digest.Digest
	size   int64
	prov   bool
}

// files are the archive and, if any, the provenance file of c.
func (c BundledChart) files() []bundledFile {
	fs := []bundledFile{{name: c.File, digest: digest.Digest(c.Digest), size: c.Size}}
	if c.ProvFile != "" {
		fs = append(fs, bundledFile{name: c.ProvFile, digest: digest.Digest(c.ProvDigest), size: c.ProvSize, prov: true})
	}
	return fs
}

// bundleFile is the name of a version's archive in a bundle.
func bundleFile(name, version string) string { return "charts/" + archiveFile(name, version) }

// Export writes project's chart versions as one bundle (see BundleFormat)
// to w. The listing is read, and the blobs found, before anything is
// written: an error then leaves w untouched. A blob whose bytes do not
// match its digest while it is streamed aborts the bundle.
func (r *Repo) Export(ctx context.Context, project string, w io.Writer) error {
	m, err := r.bundleManifest(ctx, project)
	if err != nil {
		return err
	}
	return r.writeBundle(ctx, m, w)
}

func (r *Repo) bundleManifest(ctx context.Context, project string) (*BundleManifest, error) {
	byName, err := r.List(ctx, project)
	if err != nil {
		return nil, err
	}
	m := &BundleManifest{Format: BundleFormat, Project: project, Created: r.now().UTC(), Charts: []BundledChart{}}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, v := range byName[n] {
			bc := BundledChart{Name: v.Name, Version: v.Version, File: bundleFile(v.Name, v.Version),
				Digest: "sha256:" + v.Digest, Size: v.Size}
			if v.ProvDigest != "" {
				size, err := r.blobs.Stat(ctx, digest.Digest(v.ProvDigest))
				if err != nil {
					return nil, fmt.Errorf("chart %s %s: provenance file: %w", v.Name, v.Version, err)
				}
				bc.ProvFile, bc.ProvDigest, bc.ProvSize = bc.File+".prov", v.ProvDigest, size
			}
			m.Charts = append(m.Charts, bc)
		}
	}
	return m, nil
}

func (r *Repo) writeBundle(ctx context.Context, m *BundleManifest, w io.Writer) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeEntry(tw, BundleManifestName, m.Created, int64(len(body)), func(w io.Writer) error {
		_, err := w.Write(body)
		return err
	}); err != nil {
		return err
	}
	for _, c := range m.Charts {
		for _, f := range c.files() {
			err := writeEntry(tw, f.name, m.Created, f.size, func(w io.Writer) error { return r.copyBlob(ctx, w, f.digest, f.size) })
			if err != nil {
				return fmt.Errorf("chart bundle: %s: %w", f.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func writeEntry(tw *tar.Writer, name string, mod time.Time, size int64, body func(io.Writer) error) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: mod, Typeflag: tar.TypeReg,
		Format: tar.FormatPAX}); err != nil {
		return err
	}
	return body(tw)
}

// copyBlob copies exactly size bytes of blob d to w, checking them
// against d.
func (r *Repo) copyBlob(ctx context.Context, w io.Writer, d digest.Digest, size int64) error {
	rc, err := r.blobs.Open(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	vr := d.Verifier()
	if _, err := io.CopyN(io.MultiWriter(w, vr), rc, size); err != nil {
		return err
	}
	if !vr.Verified() {
		return fmt.Errorf("the stored blob does not match its digest %s", d)
	}
	return nil
}
