package trivy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/aquasecurity/trivy/pkg/log"

	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/trivy"
	"github.com/berthlabs/berth/scan/trivy/trivytest"
)

var (
	_ scan.Scanner       = (*trivy.Scanner)(nil)
	_ scan.SBOMGenerator = (*trivy.Scanner)(nil)
)

// newScanner opens a Scanner whose DB comes from e's registry through the
// in-process transport.
func newScanner(t testing.TB, e *env, opts ...trivy.Option) *trivy.Scanner {
	t.Helper()
	opts = append([]trivy.Option{
		trivy.WithDBRepository(e.host+"/"+dbRepo, e.rt, false),
		trivy.WithDBDir(filepath.Join(t.TempDir(), "db")),
	}, opts...)
	s, err := trivy.New(context.Background(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// The Debian image and an application image on the same base layer, with
// Trivy's in-memory layer cache and with its on-disk one: each reports the
// exact findings, and the application image's scan reads only its new
// layer from the registry — the base layer's analysis comes from the
// cache. (How much faster that makes the second scan is measured by
// BenchmarkRescanSharedBase, not asserted.)
func TestScanDebianFromBerth(t *testing.T) {
	want := debianFindings(t)
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	baseImg := must(trivytest.DebianImage())(t)
	base := e.push(t, "library/debian", baseImg)
	app := e.push(t, "team/app", must(trivytest.AppImage(baseImg, "app"))(t))
	require.Len(t, app.layers, 2)
	baseDigest := must(base.layers[0].Digest())(t)
	require.Equal(t, baseDigest, must(app.layers[0].Digest())(t), "shared base layer")
	baseDiffID := must(base.layers[0].DiffID())(t)
	appLayerDigest := must(app.layers[1].Digest())(t)

	for _, cache := range []string{"memory-cache", "fs-cache"} {
		t.Run(cache, func(t *testing.T) {
			var opts []trivy.Option
			if cache == "fs-cache" {
				opts = append(opts, trivy.WithCacheDir(t.TempDir()))
			}
			s := newScanner(t, e, opts...)
			for i, p := range []pushed{base, app} {
				req := e.request(p)
				ct := newCountingTransport(req.Source.Transport)
				req.Source.Transport = ct
				rep, err := s.Scan(context.Background(), req)
				require.NoError(t, err, p.repo)
				if i == 0 {
					assert.Equal(t, 1, ct.get(baseDigest.String()), "first scan reads the base layer once")
				} else {
					assert.Zero(t, ct.get(baseDigest.String()), "shared base layer read again")
					assert.Equal(t, 1, ct.get(appLayerDigest.String()), "the new layer is read once")
				}
				assert.Equal(t, want, trivytest.Findings(rep), p.repo)
				assert.Equal(t, worst(want), rep.Severity, p.repo)
				assert.Equal(t, trivytest.DBUpdatedAt.Format(time.RFC3339), rep.DBVersion)
				assert.Equal(t, scan.ScannerInfo{Name: "Trivy", Vendor: "Aqua Security", Version: "v0.74.0"}, rep.Scanner)
				assert.Equal(t, p.digest, rep.Artifact.Digest)
				assert.Equal(t, "application/vnd.oci.image.manifest.v1+json", rep.Artifact.MediaType)
				for _, v := range rep.Vulnerabilities {
					// Every package comes from the shared base layer.
					require.NotNil(t, v.Layer, v.ID)
					assert.Equal(t, baseDigest.String(), v.Layer.Digest.String(), v.ID)
					assert.Equal(t, baseDiffID.String(), v.Layer.DiffID.String(), v.ID)
					assert.Contains(t, v.Links, "https://nvd.nist.gov/vuln/detail/"+v.ID)
					assert.True(t, strings.HasPrefix(v.PURL, "pkg:deb/debian/"+v.Package+"@"), v.PURL)
				}
				// zlib1g is in every Debian system; CVE-2023-45853 has no fix.
				zlib, ok := vulnByID(rep, "CVE-2023-45853", "zlib1g")
				require.True(t, ok, "CVE-2023-45853 in zlib1g")
				assert.Equal(t, scan.Critical, zlib.Severity)
				assert.Equal(t, &scan.CVSS{ScoreV3: 9.8, VectorV3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, zlib.CVSS)
				assert.Equal(t, []string{"CWE-190"}, zlib.CWEIDs)
				assert.Equal(t, "https://avd.aquasec.com/nvd/cve-2023-45853", zlib.Links[0])
				assert.NotEmpty(t, zlib.Title)
			}
		})
	}
}

// The expected Debian findings follow the installed versions: this
// machine's package state with expat at its fixed version and xz-utils
// before CVE-2025-31115's fix gives exactly what DebianFindingsFor
// computes for it.
func TestScanDebianOtherVersions(t *testing.T) {
	debianFindings(t) // a Debian 12 machine whose packages the advisories hit
	files := must(trivytest.DebianFiles())(t)
	var status []byte
	for i, f := range files {
		if f.Path == "var/lib/dpkg/status" {
			files[i].Data = setDpkgVersions(f.Data, map[string]string{
				"libexpat1": "2.5.0-1+deb12u4", "libexpat1-dev": "2.5.0-1+deb12u4", // fixed
				"liblzma5": "5.4.1-0.2", "xz-utils": "5.4.1-0.2", // 0.2 < 1: not fixed
			})
			status = files[i].Data
		}
	}
	want := must(trivytest.DebianFindingsFor(status))(t)
	var ids []string
	for _, f := range want {
		ids = append(ids, f.ID)
	}
	assert.NotContains(t, ids, "CVE-2024-28757")
	assert.Contains(t, ids, "CVE-2025-31115")

	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	s := newScanner(t, e)
	img := e.push(t, "library/debian", must(trivytest.Image(must(trivytest.Layer(files))(t)))(t))
	rep, err := s.Scan(context.Background(), e.request(img))
	require.NoError(t, err)
	assert.Equal(t, want, trivytest.Findings(rep))
}

// setDpkgVersions sets the version of packages of a dpkg status file, and
// their source version when the Source field names one.
func setDpkgVersions(status []byte, versions map[string]string) []byte {
	paras := strings.Split(string(status), "\n\n")
	for i, p := range paras {
		lines := strings.Split(p, "\n")
		var v string
		for _, l := range lines {
			if name, ok := strings.CutPrefix(l, "Package: "); ok {
				v = versions[name]
			}
		}
		if v == "" {
			continue
		}
		for j, l := range lines {
			if strings.HasPrefix(l, "Version: ") {
				lines[j] = "Version: " + v
			}
			if src, ok := strings.CutPrefix(l, "Source: "); ok {
				if name, _, ok := strings.Cut(src, " ("); ok {
					lines[j] = "Source: " + name + " (" + v + ")"
				}
			}
		}
		paras[i] = strings.Join(lines, "\n")
	}
	return []byte(strings.Join(paras, "\n\n"))
}

func vulnByID(r *scan.Report, id, pkg string) (scan.Vulnerability, bool) {
	for _, v := range r.Vulnerabilities {
		if v.ID == id && v.Package == pkg {
			return v, true
		}
	}
	return scan.Vulnerability{}, false
}

func TestScanAlpine(t *testing.T) {
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	s := newScanner(t, e)

	img := e.push(t, "library/alpine", must(trivytest.AlpineImage())(t))
	rep, err := s.Scan(context.Background(), e.request(img))
	require.NoError(t, err)
	assert.Equal(t, trivytest.AlpineFindings, trivytest.Findings(rep))
	assert.Equal(t, scan.Critical, rep.Severity)
	for _, v := range rep.Vulnerabilities {
		assert.Equal(t, img.layers[0], mustLayerByDigest(t, img, v.Layer.Digest.String()))
		assert.True(t, strings.HasPrefix(v.PURL, "pkg:apk/alpine/"+v.Package+"@"), v.PURL)
	}
	// The severity and scores of the finding come from NVD (Alpine's
	// secdb has none).
	v, ok := vulnByID(rep, "CVE-2019-1563", "libcrypto1.1")
	require.True(t, ok)
	assert.Equal(t, &scan.CVSS{ScoreV3: 3.7, VectorV3: "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"}, v.CVSS)
}

func mustLayerByDigest(t testing.TB, p pushed, d string) any {
	for _, l := range p.layers {
		ld, err := l.Digest()
		require.NoError(t, err)
		if ld.String() == d {
			return l
		}
	}
	t.Fatalf("no layer %s", d)
	return nil
}

func TestSBOM(t *testing.T) {
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	s := newScanner(t, e)
	img := e.push(t, "library/alpine", must(trivytest.AlpineImage())(t))
	req := e.request(img)

	spdxDoc, err := s.SBOM(context.Background(), req, scan.SPDXJSON)
	require.NoError(t, err)
	var sp struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name         string `json:"name"`
			VersionInfo  string `json:"versionInfo"`
			ExternalRefs []struct {
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
	}
	require.NoError(t, json.Unmarshal(spdxDoc, &sp))
	assert.Equal(t, "SPDX-2.3", sp.SPDXVersion)
	spdxPkgs := map[string]string{}
	for _, p := range sp.Packages {
		for _, r := range p.ExternalRefs {
			if strings.HasPrefix(r.Locator, "pkg:apk/") {
				spdxPkgs[p.Name] = p.VersionInfo
			}
		}
	}

	cdxDoc, err := s.SBOM(context.Background(), req, scan.CycloneDXJSON)
	require.NoError(t, err)
	var cdx struct {
		BOMFormat  string `json:"bomFormat"`
		Components []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			PURL    string `json:"purl"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(cdxDoc, &cdx))
	assert.Equal(t, "CycloneDX", cdx.BOMFormat)
	cdxPkgs := map[string]string{}
	for _, c := range cdx.Components {
		if strings.HasPrefix(c.PURL, "pkg:apk/") {
			cdxPkgs[c.Name] = c.Version
		}
	}

	want := trivytest.AlpinePackages()
	assert.Equal(t, want, spdxPkgs, "SPDX packages")
	assert.Equal(t, want, cdxPkgs, "CycloneDX components")

	_, err = s.SBOM(context.Background(), req, "text/plain")
	assert.ErrorIs(t, err, scan.ErrUnsupported)
}

func TestDBUpdateSwapsBetweenScans(t *testing.T) {
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	s := newScanner(t, e)
	img := e.push(t, "library/alpine", must(trivytest.AlpineImage())(t))
	ctx := context.Background()

	meta, ok := s.DBMetadata()
	require.True(t, ok)
	assert.Equal(t, 2, meta.Version)
	assert.True(t, meta.UpdatedAt.Equal(trivytest.DBUpdatedAt))
	assert.False(t, meta.DownloadedAt.IsZero())

	// Same manifest in the repository: nothing to do.
	require.NoError(t, s.UpdateDB(ctx))
	meta2, _ := s.DBMetadata()
	assert.True(t, meta2.DownloadedAt.Equal(meta.DownloadedAt))

	// A newer DB is published; scans keep running while it is swapped in.
	newer := trivytest.DBUpdatedAt.Add(6 * time.Hour)
	e.pushDB(t, dbRepo, newer)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 4 {
		wg.Go(func() {
			for range 3 {
				rep, err := s.Scan(ctx, e.request(img))
				if err == nil && len(rep.Vulnerabilities) != len(trivytest.AlpineFindings) {
					err = assert.AnError
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	require.NoError(t, s.UpdateDB(ctx))
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	rep, err := s.Scan(ctx, e.request(img))
	require.NoError(t, err)
	assert.Equal(t, newer.Format(time.RFC3339), rep.DBVersion)

	md, err := s.Metadata(ctx)
	require.NoError(t, err)
	assert.Equal(t, newer.Format(time.RFC3339), md.Properties["harbor.scanner-adapter/vulnerability-database-updated-at"])
	assert.Contains(t, md.Produces, scan.SPDXJSON)
}

// Trivy's own registry client (no custom transport) over plain HTTP on
// 127.0.0.1, for a DB repository reached by address; and a restart that
// reuses the DB and the on-disk layer cache.
func TestDBOverHTTPAndRestart(t *testing.T) {
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	srv := httptest.NewServer(e.rg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	dbDir, cacheDir := filepath.Join(dir, "db"), filepath.Join(dir, "cache")

	s, err := trivy.New(context.Background(), trivy.WithDBRepository(host+"/"+dbRepo, nil, true),
		trivy.WithDBDir(dbDir), trivy.WithCacheDir(cacheDir))
	require.NoError(t, err)
	img := e.push(t, "library/alpine", must(trivytest.AlpineImage())(t))
	// The image is read over HTTP too, through Source.Insecure.
	req := e.request(img)
	req.Source = scan.Source{Registry: host, Insecure: true}
	rep, err := s.Scan(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, trivytest.AlpineFindings, trivytest.Findings(rep))

	_, err = trivy.New(context.Background(), trivy.WithDBDir(t.TempDir()))
	assert.ErrorContains(t, err, "another Scanner is open")
	require.NoError(t, s.Close())

	// Offline restart: DB from disk, no repository asked.
	s, err = trivy.New(context.Background(), trivy.WithOffline(), trivy.WithDBDir(dbDir), trivy.WithCacheDir(cacheDir))
	require.NoError(t, err)
	defer s.Close()
	ct := newCountingTransport(http.DefaultTransport)
	req.Source.Transport = ct
	rep, err = s.Scan(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, trivytest.AlpineFindings, trivytest.Findings(rep))
	ld, err := img.layers[0].Digest()
	require.NoError(t, err)
	assert.Zero(t, ct.get(ld.String()), "the on-disk layer cache survived the restart")
	assert.Error(t, s.UpdateDB(context.Background()), "offline")
}

func TestOfflineWithoutDB(t *testing.T) {
	_, err := trivy.New(context.Background(), trivy.WithOffline(), trivy.WithDBDir(filepath.Join(t.TempDir(), "db")))
	assert.ErrorContains(t, err, "no vulnerability DB")
	// The failed New released the process slot.
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	newScanner(t, e)
}

func TestNotAnImage(t *testing.T) {
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	s := newScanner(t, e)
	p := e.push(t, "security/other-db", must(trivytest.DBImage(trivytest.DBUpdatedAt))(t))
	_, err := s.Scan(context.Background(), e.request(p))
	assert.ErrorIs(t, err, trivy.ErrUnsupportedArtifact)
	assert.ErrorIs(t, err, scan.ErrNotScannable)
}

func TestScheduledUpdate(t *testing.T) {
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	s := newScanner(t, e, trivy.WithUpdateSchedule("@every 1s"))
	newer := trivytest.DBUpdatedAt.Add(time.Hour)
	e.pushDB(t, dbRepo, newer)
	require.Eventually(t, func() bool {
		m, ok := s.DBMetadata()
		return ok && m.UpdatedAt.Equal(newer)
	}, 20*time.Second, 100*time.Millisecond)
}

// trivyInitDefault is the slog default as Trivy's log package leaves it
// at import: a handler that buffers every record and never flushes in a
// library.
var trivyInitDefault = slog.Default()

func TestLogging(t *testing.T) {
	_, buffering := trivyInitDefault.Handler().(*tlog.DeferredHandler)
	require.True(t, buffering, "Trivy's import-time default")
	prev := slog.Default()
	defer slog.SetDefault(prev)
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	img := e.push(t, "library/alpine", must(trivytest.AlpineImage())(t))

	t.Run("without logger", func(t *testing.T) {
		slog.SetDefault(trivyInitDefault)
		s := newScanner(t, e)
		_, buffering := slog.Default().Handler().(*tlog.DeferredHandler)
		assert.False(t, buffering)
		require.NoError(t, s.Close())
	})
	t.Run("with logger", func(t *testing.T) {
		var buf syncBuffer
		s := newScanner(t, e, trivy.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
		_, err := s.Scan(context.Background(), e.request(img))
		require.NoError(t, err)
		assert.Contains(t, buf.String(), "Detecting vulnerabilities")
		assert.Contains(t, buf.String(), "vulnerability DB updated")
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestTrivyVersionMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	assert.Contains(t, string(mod), "\tgithub.com/aquasecurity/trivy "+trivy.TrivyVersion+"\n")
}

// Different images scanned at once give each its own exact findings (run
// with -race: Trivy's analyzers are shared process-wide).
func TestConcurrentScans(t *testing.T) {
	wantDebian := debianFindings(t)
	e := newEnv(t)
	e.pushDB(t, dbRepo, trivytest.DBUpdatedAt)
	s := newScanner(t, e)
	deb := e.push(t, "library/debian", must(trivytest.DebianImage())(t))
	alp := e.push(t, "library/alpine", must(trivytest.AlpineImage())(t))

	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			p, want := deb, wantDebian
			if i%2 == 1 {
				p, want = alp, trivytest.AlpineFindings
			}
			rep, err := s.Scan(context.Background(), e.request(p))
			if assert.NoError(t, err) {
				assert.Equal(t, want, trivytest.Findings(rep))
			}
		})
	}
	wg.Wait()
}
