package ui_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/portaltest"
	"github.com/berthlabs/berth/server"
)

// adminPassword is the test server's first admin's.
const adminPassword = portaltest.AdminPassword

// portal is a reference server (every feature on, a static scanner
// finding two vulnerabilities: portaltest.Findings) serving the portal,
// and a browser-like client: a cookie jar, no redirects followed, the
// last CSRF token seen.
type portal struct {
	URL    string
	Host   string // host:port, for image references
	site   *portaltest.Site
	client *http.Client
	csrf   string
}

// startPortal starts a server on an in-memory store.
func startPortal(t *testing.T, edit ...func(*server.Config)) *portal {
	t.Helper()
	site := portaltest.Start(t, edit...)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &portal{URL: site.URL, Host: site.Host, site: site, client: &http.Client{Jar: jar,
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
	return p.site.API(t, method, path, body, out)
}

// createProject creates a project through the API and returns its id.
func (p *portal) createProject(t *testing.T, name string, public bool) int64 {
	t.Helper()
	return p.site.CreateProject(t, name, public)
}

// pushImage pushes a random image (layers of size bytes) as repo:tag
// ("project/name") and returns its digest.
func (p *portal) pushImage(t *testing.T, repo, tag string, size int64) string {
	t.Helper()
	return p.site.PushImage(t, repo, tag, size)
}

// text is a page's visible text, roughly: tags stripped, spaces folded,
// for asserting what a user reads.
func text(body string) string {
	body = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>`).ReplaceAllString(body, " ")
	body = regexp.MustCompile(`<[^>]+>`).ReplaceAllString(body, " ")
	body = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#43;", "+", "&#39;", "'", "&quot;", `"`).Replace(body)
	return strings.Join(strings.Fields(body), " ")
}
