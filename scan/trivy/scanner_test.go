package trivy_test

import (
	"bufio"
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
)

var (
	_ scan.Scanner       = (*trivy.Scanner)(nil)
	_ scan.SBOMGenerator = (*trivy.Scanner)(nil)
)

const dbRepo = "security/trivy-db:2"

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

type finding struct {
	ID, Package, Version, Fix string
	Severity                  scan.Severity
}

func findings(r *scan.Report) []finding {
	var out []finding
	for _, v := range r.Vulnerabilities {
		out = append(out, finding{v.ID, v.Package, v.Version, v.FixVersion, v.Severity})
	}
	return out
}

// The Debian findings depend on this machine's package versions; check
// them first so that a changed machine fails with a clear message.
var debianInstalled = map[string]string{
	"zlib1g": "1:1.2.13.dfsg-1", "zlib1g-dev": "1:1.2.13.dfsg-1",
	"coreutils": "9.1-1", "tar": "1.34+dfsg-1.2+deb12u1",
	"libexpat1": "2.5.0-1+deb12u1", "libexpat1-dev": "2.5.0-1+deb12u1",
	"liblzma5": "5.4.1-1", "xz-utils": "5.4.1-1",
}

func requireDebianHost(t testing.TB) {
	t.Helper()
	osr := string(readHostFile(t, "/etc/os-release"))
	require.Contains(t, osr, `VERSION_ID="12"`, "the Debian fixture expects a Debian 12 host")
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readHostFile(t, "/var/lib/dpkg/status")))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var pkg string
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "Package: "); ok {
			pkg = p
		}
		if v, ok := strings.CutPrefix(line, "Version: "); ok {
			if _, want := debianInstalled[pkg]; want {
				got[pkg] = v
			}
		}
	}
	require.Equal(t, debianInstalled, got, "this machine's dpkg versions differ from the ones the test advisories were chosen for")
}

// Exact findings for this machine's Debian 12 package state.
var wantDebian = []finding{
	{"CVE-2005-2541", "tar", "1.34+dfsg-1.2+deb12u1", "", scan.Low},
	{"CVE-2016-2781", "coreutils", "9.1-1", "", scan.Low},
	{"CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", "", scan.Critical},
	{"CVE-2023-45853", "zlib1g-dev", "1:1.2.13.dfsg-1", "", scan.Critical},
	{"CVE-2024-28757", "libexpat1", "2.5.0-1+deb12u1", "2.5.0-1+deb12u4", scan.High},
	{"CVE-2024-28757", "libexpat1-dev", "2.5.0-1+deb12u1", "2.5.0-1+deb12u4", scan.High},
	{"CVE-2025-59375", "libexpat1", "2.5.0-1+deb12u1", "2.5.0-1+deb12u4", scan.High},
	{"CVE-2025-59375", "libexpat1-dev", "2.5.0-1+deb12u1", "2.5.0-1+deb12u4", scan.High},
}

// Exact findings for the Alpine 3.10.1 fixture.
var wantAlpine = []finding{
	{"CVE-2019-14697", "musl", "1.1.22-r2", "1.1.22-r3", scan.Critical},
	{"CVE-2019-14697", "musl-utils", "1.1.22-r2", "1.1.22-r3", scan.Critical},
	{"CVE-2019-1549", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r0", scan.Medium},
	{"CVE-2019-1549", "libssl1.1", "1.1.1c-r0", "1.1.1d-r0", scan.Medium},
	{"CVE-2019-1551", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r2", scan.Medium},
	{"CVE-2019-1551", "libssl1.1", "1.1.1c-r0", "1.1.1d-r2", scan.Medium},
	{"CVE-2019-1563", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r0", scan.Low},
	{"CVE-2019-1563", "libssl1.1", "1.1.1c-r0", "1.1.1d-r0", scan.Low},
}

func TestScanDebianFromBerth(t *testing.T) {
	requireDebianHost(t)
	e := newEnv(t)
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	s := newScanner(t, e)

	base := layer(t, debianFiles(t))
	baseImg := e.push(t, "library/debian", image(t, base))
	appImg := e.push(t, "team/app", image(t, base, appLayer(t, "app")))
	baseDigest, err := base.Digest()
	require.NoError(t, err)
	baseDiffID, err := base.DiffID()
	require.NoError(t, err)

	appLayerDigest, err := appImg.layers[1].Digest()
	require.NoError(t, err)
	for i, p := range []pushed{baseImg, appImg} {
		t.Run(p.repo, func(t *testing.T) {
			req := e.request(p)
			ct := &countingTransport{next: req.Source.Transport, blobs: map[string]int{}}
			req.Source.Transport = ct
			rep, err := s.Scan(context.Background(), req)
			require.NoError(t, err)
			if i == 0 {
				assert.Equal(t, 1, ct.get(baseDigest.String()), "first scan reads the base layer")
			} else {
				// The base layer's analysis comes from the layer cache:
				// only the new layer is read from the registry.
				assert.Zero(t, ct.get(baseDigest.String()), "shared base layer read again")
				assert.Equal(t, 1, ct.get(appLayerDigest.String()), "new layer")
			}
			assert.Equal(t, wantDebian, findings(rep))
			assert.Equal(t, scan.Critical, rep.Severity)
			assert.Equal(t, testDBUpdatedAt.Format(time.RFC3339), rep.DBVersion)
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
			zlib := rep.Vulnerabilities[2]
			assert.Equal(t, &scan.CVSS{ScoreV3: 9.8, VectorV3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, zlib.CVSS)
			assert.Equal(t, []string{"CWE-190"}, zlib.CWEIDs)
			assert.Equal(t, "https://avd.aquasec.com/nvd/cve-2023-45853", zlib.Links[0])
			assert.NotEmpty(t, zlib.Title)
		})
	}
}

func TestScanAlpine(t *testing.T) {
	e := newEnv(t)
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	s := newScanner(t, e)

	img := e.push(t, "library/alpine", image(t, layer(t, alpineFiles())))
	rep, err := s.Scan(context.Background(), e.request(img))
	require.NoError(t, err)
	assert.Equal(t, wantAlpine, findings(rep))
	assert.Equal(t, scan.Critical, rep.Severity)
	for _, v := range rep.Vulnerabilities {
		assert.Equal(t, img.layers[0], mustLayerByDigest(t, img, v.Layer.Digest.String()))
		assert.True(t, strings.HasPrefix(v.PURL, "pkg:apk/alpine/"+v.Package+"@"), v.PURL)
	}
	// The severity and scores of the finding come from NVD (Alpine's
	// secdb has none).
	assert.Equal(t, &scan.CVSS{ScoreV3: 3.7, VectorV3: "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"}, rep.Vulnerabilities[6].CVSS)
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
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	s := newScanner(t, e)
	img := e.push(t, "library/alpine", image(t, layer(t, alpineFiles())))
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

	want := map[string]string{}
	for _, p := range alpinePackages {
		want[p.name] = p.version
	}
	assert.Equal(t, want, spdxPkgs, "SPDX packages")
	assert.Equal(t, want, cdxPkgs, "CycloneDX components")

	_, err = s.SBOM(context.Background(), req, "text/plain")
	assert.ErrorIs(t, err, scan.ErrUnsupported)
}

func TestDBUpdateSwapsBetweenScans(t *testing.T) {
	e := newEnv(t)
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	s := newScanner(t, e)
	img := e.push(t, "library/alpine", image(t, layer(t, alpineFiles())))
	ctx := context.Background()

	meta, ok := s.DBMetadata()
	require.True(t, ok)
	assert.Equal(t, 2, meta.Version)
	assert.True(t, meta.UpdatedAt.Equal(testDBUpdatedAt))
	assert.False(t, meta.DownloadedAt.IsZero())

	// Same manifest in the repository: nothing to do.
	require.NoError(t, s.UpdateDB(ctx))
	meta2, _ := s.DBMetadata()
	assert.True(t, meta2.DownloadedAt.Equal(meta.DownloadedAt))

	// A newer DB is published; scans keep running while it is swapped in.
	newer := testDBUpdatedAt.Add(6 * time.Hour)
	e.pushTestDB(t, dbRepo, newer)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 4 {
		wg.Go(func() {
			for range 3 {
				rep, err := s.Scan(ctx, e.request(img))
				if err == nil && len(rep.Vulnerabilities) != len(wantAlpine) {
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
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	srv := httptest.NewServer(e.rg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	dbDir, cacheDir := filepath.Join(dir, "db"), filepath.Join(dir, "cache")

	s, err := trivy.New(context.Background(), trivy.WithDBRepository(host+"/"+dbRepo, nil, true),
		trivy.WithDBDir(dbDir), trivy.WithCacheDir(cacheDir))
	require.NoError(t, err)
	img := e.push(t, "library/alpine", image(t, layer(t, alpineFiles())))
	// The image is read over HTTP too, through Source.Insecure.
	req := e.request(img)
	req.Source = scan.Source{Registry: host, Insecure: true}
	rep, err := s.Scan(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, wantAlpine, findings(rep))

	_, err = trivy.New(context.Background(), trivy.WithDBDir(t.TempDir()))
	assert.ErrorContains(t, err, "another Scanner is open")
	require.NoError(t, s.Close())

	// Offline restart: DB from disk, no repository asked.
	s, err = trivy.New(context.Background(), trivy.WithOffline(), trivy.WithDBDir(dbDir), trivy.WithCacheDir(cacheDir))
	require.NoError(t, err)
	defer s.Close()
	ct := &countingTransport{next: http.DefaultTransport, blobs: map[string]int{}}
	req.Source.Transport = ct
	rep, err = s.Scan(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, wantAlpine, findings(rep))
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
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	newScanner(t, e)
}

func TestNotAnImage(t *testing.T) {
	e := newEnv(t)
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	s := newScanner(t, e)
	dir := t.TempDir()
	writeTestDB(t, dir, testDBUpdatedAt)
	p := e.push(t, "security/other-db", dbArtifact(t, dir))
	_, err := s.Scan(context.Background(), e.request(p))
	assert.ErrorIs(t, err, trivy.ErrUnsupportedArtifact)
	assert.ErrorIs(t, err, scan.ErrNotScannable)
}

func TestScheduledUpdate(t *testing.T) {
	e := newEnv(t)
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	s := newScanner(t, e, trivy.WithUpdateSchedule("@every 1s"))
	newer := testDBUpdatedAt.Add(time.Hour)
	e.pushTestDB(t, dbRepo, newer)
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
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	img := e.push(t, "library/alpine", image(t, layer(t, alpineFiles())))

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

// countingTransport counts blob requests by digest.
type countingTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	blobs map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if i := strings.Index(r.URL.Path, "/blobs/sha256:"); i >= 0 && r.Method == http.MethodGet {
		c.mu.Lock()
		c.blobs[r.URL.Path[i+len("/blobs/"):]]++
		c.mu.Unlock()
	}
	return c.next.RoundTrip(r)
}

func (c *countingTransport) get(d string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blobs[d]
}

// Different images scanned at once give each its own exact findings (run
// with -race: Trivy's analyzers are shared process-wide).
func TestConcurrentScans(t *testing.T) {
	requireDebianHost(t)
	e := newEnv(t)
	e.pushTestDB(t, dbRepo, testDBUpdatedAt)
	s := newScanner(t, e)
	deb := e.push(t, "library/debian", image(t, layer(t, debianFiles(t))))
	alp := e.push(t, "library/alpine", image(t, layer(t, alpineFiles())))

	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			p, want := deb, wantDebian
			if i%2 == 1 {
				p, want = alp, wantAlpine
			}
			rep, err := s.Scan(context.Background(), e.request(p))
			if assert.NoError(t, err) {
				assert.Equal(t, want, findings(rep))
			}
		})
	}
	wg.Wait()
}
