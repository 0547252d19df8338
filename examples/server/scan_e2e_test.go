package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/internal/testtool"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/adapter"
	"github.com/berthlabs/berth/server"
)

// scanFindings are what the fake adapter reports for every image.
var scanFindings = []scan.Vulnerability{
	{ID: "CVE-2024-1111", Package: "openssl", Version: "3.0.11", FixVersion: "3.0.12", Severity: scan.Critical},
	{ID: "CVE-2024-2222", Package: "zlib", Version: "1.2.13", Severity: scan.High},
	{ID: "CVE-2024-3333", Package: "bash", Version: "5.2", Severity: scan.Low},
}

// scanServer is the server as a child process, with auth, and a client for
// its API as the admin.
type scanServer struct {
	*serverProc
	host string
	dir  string
}

// startScanServer runs the server on a port chosen here (so that the
// external URL it gives external scanners is right) over dir.
func startScanServer(t *testing.T, dir string) *scanServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return startScanServerAt(t, dir, addr)
}

func startScanServerAt(t *testing.T, dir, addr string) *scanServer {
	t.Helper()
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	s := startServer(t, dir, "-auth=true", "-addr", addr, "-log-level", "debug")
	return &scanServer{serverProc: s, host: addr, dir: dir}
}

// api calls the management API as admin and returns status and body.
func (s *scanServer) api(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	r := s.adminAPI(t, method, path, body)
	return r.status, r.body
}

func (s *scanServer) mustAPI(t *testing.T, method, path string, body any, want int) []byte {
	t.Helper()
	return s.mustAdminAPI(t, method, path, body, want).body
}

// tool runs crane, skopeo or oras with the admin's credentials.
func (s *scanServer) tool(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	return adminTool(t, s.host, tool, args...)
}

// adminTool runs crane, skopeo or oras in a temporary directory with the
// admin's credentials for host (in both Docker's and containers' auth
// files) and returns its combined output.
func adminTool(t *testing.T, host, tool string, args ...string) (string, error) {
	t.Helper()
	bin := testtool.Require(t, tool)
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("admin:" + e2eAdminPassword))
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir, "HOME="+dir, "REGISTRY_AUTH_FILE="+filepath.Join(dir, "config.json"))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// scanLayerTar is a one-file layer.
func scanLayerTar(t *testing.T, content string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "etc/release", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}))
	_, err := tw.Write([]byte(content))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	path := filepath.Join(t.TempDir(), "layer.tar")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	return path
}

// fakeAdapter is berth's adapter server backed by a fixed-findings scanner
// that, like a real one, pulls the manifest it scans from the registry with
// the credential of the scan request.
func fakeAdapter(t *testing.T, token string) (*httptest.Server, *scan.Static) {
	t.Helper()
	st := &scan.Static{Info: scan.ScannerInfo{Name: "fake", Vendor: "berth-tests", Version: "1"},
		DBVersion: "2025-03-01T00:00:00Z", Vulnerabilities: scanFindings}
	st.Check = func(ctx context.Context, req scan.Request) error {
		if req.Source.Authorization == "" {
			return fmt.Errorf("no registry credential in the scan request")
		}
		ref, err := name.NewDigest(req.Source.Registry+"/"+req.Artifact.Repository+"@"+req.Artifact.Digest.String(), name.Insecure)
		if err != nil {
			return err
		}
		rt := &headerTransport{base: http.DefaultTransport, auth: req.Source.Authorization}
		if _, err := remote.Get(ref, remote.WithContext(ctx), remote.WithTransport(rt)); err != nil {
			return fmt.Errorf("pulling the artifact to scan: %w", err)
		}
		return nil
	}
	srv := httptest.NewServer(adapter.NewServer(st, adapter.WithSBOM(scan.StaticSBOM{}),
		adapter.WithAuthorizer(adapter.RequireToken(token))))
	t.Cleanup(srv.Close)
	return srv, st
}

type headerTransport struct {
	base http.RoundTripper
	auth string
}

func (h *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", h.auth)
	return h.base.RoundTrip(r)
}

// waitReport polls an artifact's vulnerabilities addition until it holds a
// report.
func (s *scanServer) waitReport(t *testing.T, art string) api.VulnerabilityReport {
	t.Helper()
	var out api.VulnerabilityReport
	waitFor(t, 30*time.Second, "a report for "+art, func() bool {
		var m map[string]api.VulnerabilityReport
		require.NoError(t, json.Unmarshal(s.mustAPI(t, http.MethodGet, art+"/additions/vulnerabilities", nil, http.StatusOK), &m))
		r, ok := m["application/vnd.security.vulnerability.report; version=1.1"]
		out = r
		return ok
	})
	return out
}

// Scan on push with a Harbor scanner adapter registered through the API;
// the gate blocks the pull with a readable 412; the allowlist lets it
// through; all of it survives a restart.
func TestScanOnPushGateAndAllowlistE2E(t *testing.T) {
	dir := t.TempDir()
	s := startScanServer(t, dir)
	adapterSrv, fake := fakeAdapter(t, "adapter-token")

	// Register the adapter; with no built-in scanner it becomes the default.
	var reg api.ScannerRegistration
	require.NoError(t, json.Unmarshal(s.mustAPI(t, http.MethodPost, "/scanners", api.ScannerRegistrationReq{
		Name: "fake", URL: adapterSrv.URL, Auth: "Bearer", AccessCredential: "adapter-token"}, http.StatusCreated), &reg))
	assert.True(t, reg.IsDefault)
	var md api.ScannerAdapterMetadata
	require.NoError(t, json.Unmarshal(s.mustAPI(t, http.MethodGet, "/scanners/"+reg.UUID+"/metadata", nil, http.StatusOK), &md))
	assert.Equal(t, "fake", md.Scanner.Name)

	yes, high := "true", "high"
	s.mustAPI(t, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "app",
		Metadata: &api.ProjectMetadata{AutoScan: &yes, PreventVul: &yes, Severity: &high}}, http.StatusCreated)

	// Push with crane: the push triggers a scan.
	ref := s.host + "/app/web:1"
	out, err := s.tool(t, "crane", "append", "--insecure", "-f", scanLayerTar(t, "v1"), "-t", ref)
	require.NoError(t, err, out)
	out, err = s.tool(t, "crane", "digest", "--insecure", ref)
	require.NoError(t, err, out)
	dg := strings.TrimSpace(out)
	art := "/projects/app/repositories/web/artifacts/" + dg

	r := s.waitReport(t, art)
	assert.Equal(t, "Critical", r.Severity)
	assert.Equal(t, 3, r.Summary.Total)
	assert.Equal(t, "2025-03-01T00:00:00Z", r.DBVersion)
	require.NotNil(t, r.Overview)
	assert.Equal(t, "Success", r.Overview.ScanStatus)
	logText := string(s.mustAPI(t, http.MethodGet, art+"/scan/"+r.Overview.ReportID+"/log", nil, http.StatusOK))
	assert.Contains(t, logText, "with scanner "+reg.UUID)
	assert.Contains(t, logText, "done: 3 vulnerabilities")
	require.Len(t, fake.Calls(), 1)
	assert.Equal(t, s.host, fake.Calls()[0].Source.Registry)

	// The pull is refused with a message naming the count, the worst CVEs
	// and the threshold.
	out, err = s.tool(t, "crane", "manifest", "--insecure", ref)
	require.Error(t, err, out)
	for _, want := range []string{"DENIED", "2 vulnerabilities", "threshold High", "CVE-2024-1111 (Critical) in openssl 3.0.11",
		"CVE-2024-2222 (High)"} {
		assert.Contains(t, out, want)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/v2/app/web/manifests/1", nil)
	require.NoError(t, err)
	req.SetBasicAuth("admin", e2eAdminPassword)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := s.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusPreconditionFailed, resp.StatusCode)
	out, err = s.tool(t, "skopeo", "inspect", "--tls-verify=false", "docker://"+ref)
	require.Error(t, err, "skopeo is refused too: %s", out)
	assert.Contains(t, out, "CVE-2024-1111")

	// Scanning again while the gate blocks: the scanner's own pulls pass.
	s.mustAPI(t, http.MethodPost, art+"/scan", nil, http.StatusAccepted)
	waitFor(t, 30*time.Second, "the second scan", func() bool { return len(fake.Calls()) == 2 })
	waitFor(t, 30*time.Second, "the second scan to succeed", func() bool {
		return s.waitReport(t, art).Overview.ScanStatus == "Success"
	})

	// The scanners' one-scan robot accounts are gone.
	var robots []api.Robot
	require.NoError(t, json.Unmarshal(s.mustAPI(t, http.MethodGet, "/robots?page_size=100", nil, http.StatusOK), &robots))
	for _, rb := range robots {
		assert.NotContains(t, rb.Name, "scanner-", "a scanner's robot outlived its scan")
	}

	// Allowlisting the two CVEs in the project lets the pull through.
	s.mustAPI(t, http.MethodPut, "/projects/app/cve-allowlist", api.CVEAllowlist{Items: []api.CVEAllowlistItem{
		{CVEID: "CVE-2024-1111"}, {CVEID: "CVE-2024-2222"}}}, http.StatusOK)
	out, err = s.tool(t, "crane", "manifest", "--insecure", ref)
	require.NoError(t, err, out)

	// Reports, allowlists and registrations are durable: after a restart
	// the pull still passes, and fails again once the allowlist is emptied.
	s.stop()
	s = startScanServerAt(t, dir, s.host)
	out, err = s.tool(t, "crane", "manifest", "--insecure", ref)
	require.NoError(t, err, out)
	s.mustAPI(t, http.MethodPut, "/projects/app/cve-allowlist", api.CVEAllowlist{}, http.StatusOK)
	out, err = s.tool(t, "crane", "manifest", "--insecure", ref)
	require.Error(t, err, out)
	assert.Contains(t, out, "CVE-2024-1111")
	var regs []api.ScannerRegistration
	require.NoError(t, json.Unmarshal(s.mustAPI(t, http.MethodGet, "/scanners", nil, http.StatusOK), &regs))
	require.Len(t, regs, 1)
	assert.Equal(t, reg.UUID, regs[0].UUID)
}

// SBOMs written by the adapter's sbom capability are stored as OCI
// referrers: listed by the referrers API with an artifactType filter,
// fetched by oras, downloaded from the API; the image's gate does not
// apply to them.
func TestSBOMReferrersE2E(t *testing.T) {
	s := startScanServer(t, t.TempDir())
	adapterSrv, _ := fakeAdapter(t, "tok")
	s.mustAPI(t, http.MethodPost, "/scanners", api.ScannerRegistrationReq{Name: "fake", URL: adapterSrv.URL,
		Auth: "X-ScannerAdapter-API-Key", AccessCredential: "tok"}, http.StatusCreated)
	yes, low := "true", "low"
	s.mustAPI(t, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "sb",
		Metadata: &api.ProjectMetadata{PreventVul: &yes, Severity: &low}}, http.StatusCreated)
	ref := s.host + "/sb/img:1"
	out, err := s.tool(t, "crane", "append", "--insecure", "-f", scanLayerTar(t, "sbom"), "-t", ref)
	require.NoError(t, err, out)
	out, err = s.tool(t, "crane", "digest", "--insecure", ref)
	require.NoError(t, err, out)
	dg := strings.TrimSpace(out)
	art := "/projects/sb/repositories/img/artifacts/" + dg

	var task api.ScanTaskInfo
	require.NoError(t, json.Unmarshal(s.mustAPI(t, http.MethodPost, art+"/scan", api.ScanType{ScanType: "sbom"}, http.StatusAccepted), &task))
	var sbom []byte
	waitFor(t, 30*time.Second, "both SBOMs", func() bool {
		status, b := s.api(t, http.MethodGet, art+"/additions/sbom?format=spdx", nil)
		sbom = b
		status2, _ := s.api(t, http.MethodGet, art+"/additions/sbom?format=cyclonedx", nil)
		return status == http.StatusOK && status2 == http.StatusOK
	})
	assert.Contains(t, string(sbom), `"spdxVersion":"SPDX-2.3"`)

	// oras discovers them (it resolves the subject first, so before the
	// image is blocked: the gate cannot tell HEAD from GET).
	out, err = s.tool(t, "oras", "discover", "--plain-http", "--artifact-type", scan.SPDXJSON, "--format", "json", s.host+"/sb/img@"+dg)
	require.NoError(t, err, out)
	var disc struct {
		Manifests []struct{ Digest, ArtifactType string } `json:"manifests"`
		Referrers []struct{ Digest, ArtifactType string } `json:"referrers"`
	}
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &disc), out)
	refs := append(disc.Manifests, disc.Referrers...)
	require.Len(t, refs, 1, out)

	// Scanned, the image is blocked; its SBOMs are not.
	s.mustAPI(t, http.MethodPost, art+"/scan", nil, http.StatusAccepted)
	s.waitReport(t, art)
	out, err = s.tool(t, "crane", "manifest", "--insecure", ref)
	require.Error(t, err, out)
	assert.Contains(t, out, "3 vulnerabilities")

	// Once the image is blocked, the referrers API still lists its SBOMs and
	// oras fetches them: a manifest with a subject is never gated.
	for _, at := range []string{scan.SPDXJSON, scan.CycloneDXJSON} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
			s.URL+"/v2/sb/img/referrers/"+dg+"?artifactType="+url.QueryEscape(at), nil)
		require.NoError(t, err)
		req.SetBasicAuth("admin", e2eAdminPassword)
		resp, err := s.client.Do(req)
		require.NoError(t, err)
		var idx struct {
			Manifests []struct{ ArtifactType, Digest string }
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&idx))
		resp.Body.Close()
		require.Len(t, idx.Manifests, 1, at)
		assert.Equal(t, at, idx.Manifests[0].ArtifactType)
	}

	pullDir := t.TempDir()
	out, err = s.tool(t, "oras", "pull", "--plain-http", "-o", pullDir, s.host+"/sb/img@"+refs[0].Digest)
	require.NoError(t, err, out)
	got, err := os.ReadFile(filepath.Join(pullDir, "sbom.spdx.json"))
	require.NoError(t, err, out)
	assert.Contains(t, string(got), "sb/img@"+dg)
}

// A built-in scanner (here a fake, where the server will have Trivy) is the
// default, reads through the in-process transport, and is served to Harbor
// as a pluggable scanner adapter under /scanner-adapter.
func TestBuiltinScannerE2E(t *testing.T) {
	builtin := &scan.Static{Info: scan.ScannerInfo{Name: "builtin-fake", Vendor: "berth-tests", Version: "1"},
		DBVersion: "2025-04-01T00:00:00Z", Vulnerabilities: scanFindings[:1]}
	a := startE2EApp(t, func(cfg *server.Config) {
		cfg.Scan.Unscanned, cfg.Scan.Failed, cfg.Scan.Timeout = "deny", "deny", time.Minute
		cfg.Scan.AdapterToken = "harbor-token"
	}, server.WithBuiltinScanner(func(context.Context, *server.Assembly) (string, scan.Scanner, scan.SBOMGenerator, error) {
		return "builtin-fake", builtin, scan.StaticSBOM{}, nil
	}))
	var regs []api.ScannerRegistration
	require.NoError(t, json.Unmarshal(e2eAdmin(t, a, http.MethodGet, "/scanners", nil, http.StatusOK).body, &regs))
	require.Len(t, regs, 1)
	assert.True(t, regs[0].Builtin)
	assert.True(t, regs[0].IsDefault)

	yes, crit := "true", "critical"
	e2eAdmin(t, a, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "in",
		Metadata: &api.ProjectMetadata{AutoScan: &yes, PreventVul: &yes, Severity: &crit}}, http.StatusCreated)
	d := e2ePushRandom(t, a, "in/app:1")
	art := "/projects/in/repositories/app/artifacts/" + d.String()
	waitFor(t, 30*time.Second, "the built-in scan", func() bool {
		var m map[string]api.VulnerabilityReport
		require.NoError(t, json.Unmarshal(e2eAdmin(t, a, http.MethodGet, art+"/additions/vulnerabilities", nil, http.StatusOK).body, &m))
		return len(m) == 1
	})
	calls := builtin.Calls()
	require.NotEmpty(t, calls)
	assert.NotNil(t, calls[0].Source.Transport, "the built-in scanner reads in-process")
	assert.Empty(t, calls[0].Source.Authorization)
	blocked := e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, "/v2/in/app/manifests/1", nil,
		"Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	assert.Equal(t, http.StatusPreconditionFailed, blocked.status, "a Critical finding: %s", blocked)
	assert.Contains(t, string(blocked.body), "1 vulnerability at or above the project's severity threshold Critical")

	// Under -scan-unscanned=deny, a new image is refused until scanned.
	yes2 := "true"
	e2eAdmin(t, a, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "manual",
		Metadata: &api.ProjectMetadata{PreventVul: &yes2, Severity: &crit}}, http.StatusCreated)
	e2ePushRandom(t, a, "manual/app:1")
	unscanned := e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, "/v2/manual/app/manifests/1", nil,
		"Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	assert.Equal(t, http.StatusPreconditionFailed, unscanned.status)
	assert.Contains(t, string(unscanned.body), "not scanned")

	// The built-in SBOM generator stores referrers.
	e2eAdmin(t, a, http.MethodPost, art+"/scan", api.ScanType{ScanType: "sbom"}, http.StatusAccepted)
	waitFor(t, 30*time.Second, "the built-in SBOM", func() bool {
		return e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, api.BasePath+art+"/additions/sbom?format=cyclonedx", nil).status == http.StatusOK
	})

	// Harbor's view: berth's scanner behind the Pluggable Scanner API.
	noToken, err := adapter.NewClient(a.srv.URL + "/scanner-adapter")
	require.NoError(t, err)
	_, err = noToken.Metadata(t.Context())
	require.Error(t, err, "the adapter requires its token")
	harbor, err := adapter.NewClient(a.srv.URL+"/scanner-adapter", adapter.WithAuth(scan.AuthBearer, "harbor-token"),
		adapter.WithPollBounds(10*time.Millisecond, 100*time.Millisecond))
	require.NoError(t, err)
	md, err := harbor.Metadata(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "builtin-fake", md.Scanner.Name)
	r, err := harbor.Scan(t.Context(), scan.Request{
		Artifact: scan.Artifact{Repository: "in/app", Digest: digest.Digest(d.String()), MediaType: "application/vnd.oci.image.manifest.v1+json"},
		Source: scan.Source{Registry: a.host, Insecure: true,
			Authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+e2eAdminPassword))}})
	require.NoError(t, err)
	require.Len(t, r.Vulnerabilities, 1)
	assert.Equal(t, "CVE-2024-1111", r.Vulnerabilities[0].ID)
	last := builtin.Calls()[len(builtin.Calls())-1]
	assert.Equal(t, a.host, last.Source.Registry, "served to Harbor, the scanner is told where to pull")
	assert.Contains(t, last.Source.Authorization, "Basic ")
}
