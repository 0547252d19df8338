// Package portaltest starts a reference server for the web portal's
// tests (package ui's page tests and ui/browsertest's browser tests): an
// in-memory store, every feature on, a static scanner with known
// findings, an admin with a known password.
//
//	site := portaltest.Start(t)
//	id := site.CreateProject(t, "team", false)
//	digest := site.PushImage(t, "team/app", "v1", 1024)
package portaltest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// AdminPassword is the first admin's password.
const AdminPassword = "Portal-Admin-1"

// Findings are what the static scanner reports for every artifact: one
// fixable Critical in openssl and one Medium without a fix in zlib.
func Findings() []scan.Vulnerability {
	return []scan.Vulnerability{
		{ID: "CVE-2026-0001", Package: "openssl", Version: "3.0.1", FixVersion: "3.0.9", Severity: scan.Critical,
			Title: "a critical one", Links: []string{"https://nvd.nist.gov/vuln/detail/CVE-2026-0001"}},
		{ID: "CVE-2026-0002", Package: "zlib", Version: "1.2.11", Severity: scan.Medium, Title: "a medium one"},
	}
}

// Site is a running server.
type Site struct {
	URL    string
	Host   string // host:port, for image references
	Server *server.Server
}

// Start starts a server; edit adjusts its configuration first.
func Start(t testing.TB, edit ...func(*server.Config)) *Site {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", AdminPassword, "http://"+hs.Listener.Addr().String()
	cfg.LoginThrottle = false
	for _, e := range edit {
		e(&cfg)
	}
	scanner := &scan.Static{DBVersion: "2026-12-01", Vulnerabilities: Findings()}
	builtin := func(context.Context, *server.Assembly) (string, scan.Scanner, scan.SBOMGenerator, error) {
		return "static", scanner, nil, nil
	}
	srv, err := server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithBuiltinScanner(builtin), server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close(context.Background())
	})
	return &Site{URL: hs.URL, Host: hs.Listener.Addr().String(), Server: srv}
}

// API calls the management API as the admin (Basic auth) and fails the
// test on an error status; out, when not nil, receives the JSON answer.
func (s *Site) API(t testing.TB, method, path string, body, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+"/api/v2.0"+path, rd)
	require.NoError(t, err)
	req.SetBasicAuth("admin", AdminPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out))
	}
	return resp
}

// CreateProject creates a project and returns its id.
func (s *Site) CreateProject(t testing.TB, name string, public bool) int64 {
	t.Helper()
	s.API(t, http.MethodPost, "/projects", map[string]any{"project_name": name,
		"metadata": map[string]string{"public": fmt.Sprint(public)}}, nil)
	var got struct {
		ProjectID int64 `json:"project_id"`
	}
	s.API(t, http.MethodGet, "/projects/"+name, nil, &got)
	return got.ProjectID
}

// PushImage pushes a random image (two layers of size bytes) as
// repo:tag ("project/name") and returns its digest.
func (s *Site) PushImage(t testing.TB, repo, tag string, size int64) string {
	t.Helper()
	img, err := random.Image(size, 2)
	require.NoError(t, err)
	ref, err := name.ParseReference(s.Host+"/"+repo+":"+tag, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: AdminPassword})))
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}
