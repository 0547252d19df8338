package trivytest

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/storage/memory"
)

func status(pkgs ...string) []byte {
	return []byte(strings.Join(pkgs, "\n"))
}

func pkg(name, version, source, state string) string {
	s := fmt.Sprintf("Package: %s\nStatus: %s\nPriority: optional\nVersion: %s\n", name, state, version)
	if source != "" {
		s += "Source: " + source + "\n"
	}
	return s + "Description: " + name + "\n continuation line: not a field\n"
}

const installed = "install ok installed"

// The package state the advisories were chosen for (Debian 12 in
// November 2026) gives exactly these findings: an independent check of the
// computation against values worked out by hand.
func TestDebianFindingsSnapshot(t *testing.T) {
	got, err := DebianFindingsFor(status(
		pkg("zlib1g", "1:1.2.13.dfsg-1", "zlib", installed),
		pkg("zlib1g-dev", "1:1.2.13.dfsg-1", "zlib", installed),
		pkg("coreutils", "9.1-1", "", installed),
		pkg("tar", "1.34+dfsg-1.2+deb12u1", "", installed),
		pkg("libexpat1", "2.5.0-1+deb12u1", "expat", installed),
		pkg("libexpat1-dev", "2.5.0-1+deb12u1", "expat", installed),
		pkg("liblzma5", "5.4.1-1", "xz-utils", installed),
		pkg("xz-utils", "5.4.1-1", "", installed),
		pkg("bash", "5.2.15-2+b7", "", installed),
	))
	require.NoError(t, err)
	assert.Equal(t, []Finding{
		{"CVE-2005-2541", "tar", "1.34+dfsg-1.2+deb12u1", "", scan.Low},
		{"CVE-2016-2781", "coreutils", "9.1-1", "", scan.Low},
		{"CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", "", scan.Critical},
		{"CVE-2023-45853", "zlib1g-dev", "1:1.2.13.dfsg-1", "", scan.Critical},
		{"CVE-2024-28757", "libexpat1", "2.5.0-1+deb12u1", "2.5.0-1+deb12u4", scan.High},
		{"CVE-2024-28757", "libexpat1-dev", "2.5.0-1+deb12u1", "2.5.0-1+deb12u4", scan.High},
		{"CVE-2025-59375", "libexpat1", "2.5.0-1+deb12u1", "2.5.0-1+deb12u4", scan.High},
		{"CVE-2025-59375", "libexpat1-dev", "2.5.0-1+deb12u1", "2.5.0-1+deb12u4", scan.High},
	}, got)
}

// Debian version ordering, not string ordering; the source version
// decides; removed packages and duplicate entries don't count.
func TestDebianFindingsRules(t *testing.T) {
	got, err := DebianFindingsFor(status(
		pkg("zlib1g", "1:1.3.dfsg-3", "zlib", installed),
		pkg("zlib1g-dev", "1:1.2.13.dfsg-1", "zlib", "deinstall ok config-files"),
		pkg("coreutils", "9.1-1", "", installed),
		pkg("coreutils", "9.1-1", "", installed), // a second architecture
		pkg("tar", "1.34+dfsg-1.2+deb12u1", "", "purge ok not-installed"),
		pkg("libexpat1", "2.5.0-1+deb12u10", "expat", installed), // 10 > 4
		pkg("libexpat1-dev", "2.5.0-1+deb12u3+b1", "expat (2.5.0-1+deb12u3)", installed),
		pkg("liblzma5", "5.4.1-0.2", "xz-utils", installed), // 0.2 < 1
	))
	require.NoError(t, err)
	assert.Equal(t, []Finding{
		{"CVE-2016-2781", "coreutils", "9.1-1", "", scan.Low},
		{"CVE-2023-45853", "zlib1g", "1:1.3.dfsg-3", "", scan.Critical},
		{"CVE-2024-28757", "libexpat1-dev", "2.5.0-1+deb12u3+b1", "2.5.0-1+deb12u4", scan.High},
		{"CVE-2025-31115", "liblzma5", "5.4.1-0.2", "5.4.1-1", scan.High},
		{"CVE-2025-59375", "libexpat1-dev", "2.5.0-1+deb12u3+b1", "2.5.0-1+deb12u4", scan.High},
	}, got)
}

func TestDebianFindingsTooFew(t *testing.T) {
	_, err := DebianFindingsFor(status(
		pkg("coreutils", "9.1-1", "", installed),
		pkg("libexpat1", "2.5.0-1+deb12u4", "expat", installed),
	))
	require.Error(t, err)
	for _, s := range []string{
		"only 1 of the Debian fixture's 6 advisories apply",
		"CVE-2023-45853: no package built from zlib is installed",
		"CVE-2024-28757: fixed in expat 2.5.0-1+deb12u4; installed: libexpat1 2.5.0-1+deb12u4",
	} {
		assert.ErrorContains(t, err, s)
	}
}

// This machine: at least MinDebianAdvisories apply (DebianFindings says
// why not otherwise).
func TestDebianFindingsHere(t *testing.T) {
	got, err := DebianFindings()
	require.NoError(t, err)
	t.Logf("%d findings on this machine: %v", len(got), got)
}

// The same inputs give the same digests (a fixture image, or the DB of one
// UpdatedAt, pushed twice is one manifest), and AppImage shares its base's
// layers.
func TestDeterministic(t *testing.T) {
	images := func() []v1.Image {
		db, err := DBImage(DBUpdatedAt)
		require.NoError(t, err)
		deb, err := DebianImage()
		require.NoError(t, err)
		app, err := AppImage(deb, "app")
		require.NoError(t, err)
		alp, err := AlpineImage()
		require.NoError(t, err)
		return []v1.Image{db, deb, app, alp}
	}
	digests := func(imgs []v1.Image) []string {
		var out []string
		for _, img := range imgs {
			d, err := img.Digest()
			require.NoError(t, err)
			out = append(out, d.String())
		}
		return out
	}
	imgs := images()
	first := digests(imgs)
	assert.Equal(t, first, digests(images()))

	newer, err := DBImage(DBUpdatedAt.Add(time.Hour))
	require.NoError(t, err)
	assert.NotEqual(t, first[0], digests([]v1.Image{newer})[0])

	layerDigests := func(img v1.Image) []string {
		ls, err := img.Layers()
		require.NoError(t, err)
		var out []string
		for _, l := range ls {
			d, err := l.Digest()
			require.NoError(t, err)
			out = append(out, d.String())
		}
		return out
	}
	base, app := layerDigests(imgs[1]), layerDigests(imgs[2])
	require.Len(t, app, 2)
	assert.Equal(t, base, app[:1], "AppImage shares the base layer")
	cf, err := imgs[2].ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "linux/amd64", cf.OS+"/"+cf.Architecture)
	assert.Len(t, cf.History, 2)
}

// PushDB over plain HTTP to a berth registry on 127.0.0.1, then read back
// as Trivy reads it.
func TestPushDB(t *testing.T) {
	rg, err := registry.New(context.Background(), memory.New(), nil)
	require.NoError(t, err)
	srv := httptest.NewServer(rg)
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/security/trivy-db:2"
	require.NoError(t, PushDB(context.Background(), ref, nil, true, DBUpdatedAt))

	img, err := remote.Image(must(name.ParseReference(ref, name.Insecure))(t))
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	assert.Equal(t, types.OCIManifestSchema1, m.MediaType)
	assert.Equal(t, types.MediaType(DBConfigMediaType), m.Config.MediaType)
	require.Len(t, m.Layers, 1)
	assert.Equal(t, types.MediaType(DBLayerMediaType), m.Layers[0].MediaType)
	assert.Equal(t, "db.tar.gz", m.Layers[0].Annotations["org.opencontainers.image.title"])

	rc, err := must(img.Layers())(t)[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		if h.Name == "metadata.json" {
			var meta struct {
				Version   int
				UpdatedAt time.Time
			}
			require.NoError(t, json.NewDecoder(tr).Decode(&meta))
			assert.Equal(t, 2, meta.Version)
			assert.True(t, meta.UpdatedAt.Equal(DBUpdatedAt))
		}
	}
	assert.Equal(t, []string{"trivy.db", "metadata.json"}, names)
}

func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		require.NoError(t, err)
		return v
	}
}
