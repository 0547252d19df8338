package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
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

// adminPassword is the test server's first admin's.
const adminPassword = "Portal-Admin-1"

// portal is a reference server (every feature on, a static scanner
// finding two vulnerabilities) serving the portal, and a browser-like
// client: a cookie jar, no redirects followed, the last CSRF token seen.
type portal struct {
	URL    string
	Host   string // host:port, for image references
	client *http.Client
	csrf   string
}

// startPortal starts a server on an in-memory store.
func startPortal(t *testing.T, edit ...func(*server.Config)) *portal {
	t.Helper()
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", adminPassword, "http://"+hs.Listener.Addr().String()
	cfg.LoginThrottle = false
	for _, e := range edit {
		e(&cfg)
	}
	scanner := &scan.Static{DBVersion: "2026-12-01", Vulnerabilities: []scan.Vulnerability{
		{ID: "CVE-2026-0001", Package: "openssl", Version: "3.0.1", FixVersion: "3.0.9", Severity: scan.Critical,
			Title: "a critical one", Links: []string{"https://nvd.nist.gov/vuln/detail/CVE-2026-0001"}},
		{ID: "CVE-2026-0002", Package: "zlib", Version: "1.2.11", Severity: scan.Medium, Title: "a medium one"},
	}}
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
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &portal{URL: hs.URL, Host: hs.Listener.Addr().String(), client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login signs in through the login form.
func (p *portal) login(t *testing.T, user, password string) {
	t.Helper()
	status, loc, body := p.post(t, "/login", url.Values{"principal": {user}, "password": {password}})
	require.Equal(t, http.StatusSeeOther, status, body)
	require.Equal(t, "/projects", loc)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// get fetches a page and returns its status and body (remembering the
// CSRF token a signed-in page carries).
func (p *portal) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := p.client.Get(p.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if m := csrfField.FindSubmatch(b); m != nil && len(m[1]) > 0 {
		p.csrf = string(m[1])
	}
	if tok := resp.Header.Get("X-Harbor-Csrf-Token"); tok != "" {
		p.csrf = tok
	}
	return resp.StatusCode, string(b)
}

// page fetches a page that must answer 200.
func (p *portal) page(t *testing.T, path string) string {
	t.Helper()
	status, body := p.get(t, path)
	require.Equal(t, http.StatusOK, status, "GET %s: %s", path, body)
	return body
}

// post submits a form as the page would (with the CSRF token) and
// returns the status, the redirect target and the body.
func (p *portal) post(t *testing.T, path string, form url.Values) (int, string, string) {
	t.Helper()
	if p.csrf == "" {
		p.get(t, "/projects")
	}
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf_token") == "" && p.csrf != "" {
		form.Set("csrf_token", p.csrf)
	}
	resp, err := p.client.PostForm(p.URL+path, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// submit posts a form that must succeed (a redirect) and returns the page
// it redirects to, with its message.
func (p *portal) submit(t *testing.T, path string, form url.Values) string {
	t.Helper()
	status, loc, body := p.post(t, path, form)
	require.Equal(t, http.StatusSeeOther, status, "POST %s: %s", path, body)
	return p.page(t, loc)
}

// api calls the management API as the admin (Basic auth) to set up what
// a test needs; out, when not nil, receives the JSON answer.
func (p *portal) api(t *testing.T, method, path string, body, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, p.URL+"/api/v2.0"+path, rd)
	require.NoError(t, err)
	req.SetBasicAuth("admin", adminPassword)
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

// createProject creates a project through the API and returns its id.
func (p *portal) createProject(t *testing.T, name string, public bool) int64 {
	t.Helper()
	p.api(t, http.MethodPost, "/projects", map[string]any{"project_name": name,
		"metadata": map[string]string{"public": fmt.Sprint(public)}}, nil)
	var got struct {
		ProjectID int64 `json:"project_id"`
	}
	p.api(t, http.MethodGet, "/projects/"+name, nil, &got)
	return got.ProjectID
}

// pushImage pushes a random image (layers of size bytes) as repo:tag
// ("project/name") and returns its digest.
func (p *portal) pushImage(t *testing.T, repo, tag string, size int64) string {
	t.Helper()
	img, err := random.Image(size, 2)
	require.NoError(t, err)
	ref, err := name.ParseReference(p.Host+"/"+repo+":"+tag, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword}),
		remote.WithContext(t.Context())))
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}

// text is a page's visible text, roughly: tags stripped, spaces folded,
// for asserting what a user reads.
func text(body string) string {
	body = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>`).ReplaceAllString(body, " ")
	body = regexp.MustCompile(`<[^>]+>`).ReplaceAllString(body, " ")
	body = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#43;", "+", "&#39;", "'", "&quot;", `"`).Replace(body)
	return strings.Join(strings.Fields(body), " ")
}
