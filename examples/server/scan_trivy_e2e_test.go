//go:build goexperiment.jsonv2

package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/trivy/trivytest"
)

// The reference server as shipped (built with Trivy), air-gapped: its
// vulnerability DB is pushed into a repository of its own, and Trivy
// fetches it from there through its normal DB path. Images pushed with
// crane and skopeo into an auto-scan project get Trivy's real findings;
// the gate at High refuses their pulls with a readable 412 until the CVEs
// are allowlisted.
func TestTrivyScanOnPushGateAndAllowlistE2E(t *testing.T) {
	debianWant, err := trivytest.DebianFindings()
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	srv := startServer(t, t.TempDir(), "-auth=true", "-addr", addr, "-trivy=true",
		"-trivy-db-from-berth", "system/trivy-db:2", "-trivy-retry", "250ms")
	s := &scanServer{serverProc: srv, host: addr}

	// Until the DB is there, the built-in scanner says why it cannot scan.
	var regs []api.ScannerRegistration
	require.NoError(t, json.Unmarshal(s.mustAPI(t, http.MethodGet, "/scanners", nil, http.StatusOK), &regs))
	require.Len(t, regs, 1)
	require.True(t, regs[0].Builtin)
	assert.True(t, regs[0].IsDefault)
	status, body := s.api(t, http.MethodGet, "/scanners/"+regs[0].UUID+"/metadata", nil)
	assert.NotEqual(t, http.StatusOK, status, "no DB yet: %s", body)

	s.mustAPI(t, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "system"}, http.StatusCreated)
	require.NoError(t, trivytest.PushDB(t.Context(), addr+"/system/trivy-db:2", nil, true, trivytest.DBUpdatedAt,
		remote.WithAuth(&authn.Basic{Username: "admin", Password: e2eAdminPassword})))
	waitFor(t, 60*time.Second, "Trivy to load the DB from berth", func() bool {
		status, _ := s.api(t, http.MethodGet, "/scanners/"+regs[0].UUID+"/metadata", nil)
		return status == http.StatusOK
	})
	var md api.ScannerAdapterMetadata
	require.NoError(t, json.Unmarshal(s.mustAPI(t, http.MethodGet, "/scanners/"+regs[0].UUID+"/metadata", nil, http.StatusOK), &md))
	assert.Equal(t, "Trivy", md.Scanner.Name)

	yes, high := "true", "high"
	s.mustAPI(t, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "app",
		Metadata: &api.ProjectMetadata{AutoScan: &yes, PreventVul: &yes, Severity: &high}}, http.StatusCreated)

	// crane pushes the Debian image made from this machine's dpkg status.
	debian, err := trivytest.DebianImage()
	require.NoError(t, err)
	debianRef := addr + "/app/debian:12"
	tarPath := filepath.Join(t.TempDir(), "debian.tar")
	tag, err := name.NewTag(debianRef, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, tarball.WriteToFile(tarPath, tag, debian))
	out, err := s.tool(t, "crane", "push", "--insecure", tarPath, debianRef)
	require.NoError(t, err, out)

	// skopeo pushes the Alpine image from an OCI layout.
	alpine, err := trivytest.AlpineImage()
	require.NoError(t, err)
	layoutDir := filepath.Join(t.TempDir(), "alpine")
	lp, err := layout.Write(layoutDir, empty.Index)
	require.NoError(t, err)
	require.NoError(t, lp.AppendImage(alpine, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "3.10"})))
	alpineRef := addr + "/app/alpine:3.10"
	out, err = s.tool(t, "skopeo", "copy", "--dest-tls-verify=false", "oci:"+layoutDir+":3.10", "docker://"+alpineRef)
	require.NoError(t, err, out)
	// The clients may rewrite the manifest (crane pushes a tarball as a
	// Docker manifest): ask the server for what it holds.
	digestOf := func(ref string) string {
		out, err := s.tool(t, "crane", "digest", "--insecure", ref)
		require.NoError(t, err, out)
		return strings.TrimSpace(out)
	}

	for _, c := range []struct {
		repo, ref string
		digest    string
		want      []trivytest.Finding
	}{
		{"debian", debianRef, digestOf(debianRef), debianWant},
		{"alpine", alpineRef, digestOf(alpineRef), trivytest.AlpineFindings},
	} {
		t.Run(c.repo, func(t *testing.T) {
			art := "/projects/app/repositories/" + c.repo + "/artifacts/" + c.digest
			r := s.waitReport(t, art)
			require.NotNil(t, r.Overview)
			require.Equal(t, "Success", r.Overview.ScanStatus)
			assert.Equal(t, "Trivy", r.Scanner.Name)
			assert.Equal(t, trivytest.DBUpdatedAt.Format(time.RFC3339), r.DBVersion)
			got := make([]trivytest.Finding, 0, len(r.Vulnerabilities))
			for _, v := range r.Vulnerabilities {
				sev, err := scan.ParseSeverity(v.Severity)
				require.NoError(t, err)
				got = append(got, trivytest.Finding{ID: v.ID, Package: v.Package, Installed: v.Version, Fixed: v.FixVersion, Severity: sev})
			}
			assert.ElementsMatch(t, c.want, got, "Trivy's findings through the API")
			if c.repo == "debian" { // zlib's minizip CVE: Debian will not fix it
				i := slices.IndexFunc(r.Vulnerabilities, func(v api.VulnerabilityItem) bool { return v.ID == "CVE-2023-45853" })
				require.GreaterOrEqual(t, i, 0)
				assert.Equal(t, "will_not_fix", r.Vulnerabilities[i].Status, "the vendor's status rides with the finding")
			}

			// The pull is refused with the count, the worst CVEs and the threshold.
			var blocking []string
			for _, f := range c.want {
				if f.Severity >= scan.High && !slices.Contains(blocking, f.ID) {
					blocking = append(blocking, f.ID)
				}
			}
			require.NotEmpty(t, blocking, "the fixture must carry High or Critical findings")
			out, err := s.tool(t, "crane", "manifest", "--insecure", c.ref)
			require.Error(t, err, out)
			for _, want := range []string{"DENIED", "threshold High", blocking[0]} {
				assert.Contains(t, out, want)
			}
			out, err = s.tool(t, "skopeo", "inspect", "--tls-verify=false", "docker://"+c.ref)
			require.Error(t, err, "skopeo is refused too: %s", out)

			// Allowlisting exactly those CVEs lets the pull through.
			items := make([]api.CVEAllowlistItem, 0, len(blocking))
			for _, id := range blocking {
				items = append(items, api.CVEAllowlistItem{CVEID: id})
			}
			s.mustAPI(t, http.MethodPut, "/projects/app/cve-allowlist", api.CVEAllowlist{Items: items}, http.StatusOK)
			out, err = s.tool(t, "crane", "manifest", "--insecure", c.ref)
			require.NoError(t, err, out)
			assert.True(t, strings.Contains(out, "schemaVersion"), out)
			s.mustAPI(t, http.MethodPut, "/projects/app/cve-allowlist", api.CVEAllowlist{}, http.StatusOK)
		})
	}

	// Trivy's SBOMs of the Alpine image, stored as referrers of it: listed
	// by the referrers API with an artifactType filter (the image's gate
	// does not apply to them) and downloadable from the management API.
	dg := digestOf(alpineRef)
	art := "/projects/app/repositories/alpine/artifacts/" + dg
	s.mustAPI(t, http.MethodPost, art+"/scan", api.ScanType{ScanType: "sbom"}, http.StatusAccepted)
	for _, at := range []string{scan.SPDXJSON, scan.CycloneDXJSON} {
		waitFor(t, 60*time.Second, "the "+at+" referrer", func() bool {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
				s.URL+"/v2/app/alpine/referrers/"+dg+"?artifactType="+url.QueryEscape(at), nil)
			require.NoError(t, err)
			req.SetBasicAuth("admin", e2eAdminPassword)
			resp, err := s.client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var idx struct {
				Manifests []struct {
					ArtifactType string `json:"artifactType"`
				} `json:"manifests"`
			}
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&idx))
			return len(idx.Manifests) == 1 && idx.Manifests[0].ArtifactType == at
		})
	}
	for format, want := range map[string]string{"spdx": `"spdxVersion": "SPDX-2.3"`, "cyclonedx": `"bomFormat": "CycloneDX"`} {
		status, body := s.api(t, http.MethodGet, art+"/additions/sbom?format="+format, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		assert.True(t, strings.Contains(string(body), want), "%s document has %s", format, want)
		for pkg := range trivytest.AlpinePackages() {
			assert.True(t, strings.Contains(string(body), `"`+pkg+`"`), "%s lists %s", format, pkg)
		}
	}
}
