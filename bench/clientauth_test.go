package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseChallenge(t *testing.T) {
	scheme, p := parseChallenge(`Bearer realm="http://h:1/service/token",service="berth",scope="repository:a/b:pull,push",error="invalid_token"`)
	if scheme != "Bearer" || p["realm"] != "http://h:1/service/token" || p["service"] != "berth" ||
		p["scope"] != "repository:a/b:pull,push" || p["error"] != "invalid_token" {
		t.Fatalf("got %q %q", scheme, p)
	}
	_, p = parseChallenge(`Bearer realm="a\"b\\c", Service=x`)
	if p["realm"] != `a"b\c` || p["service"] != "x" {
		t.Fatalf("escapes/unquoted: %q", p)
	}
	if scheme, _ := parseChallenge(`Basic realm="berth"`); scheme != "Basic" {
		t.Fatalf("scheme %q", scheme)
	}
}

func TestRequestScope(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{http.MethodGet, "/v2/bench/app/manifests/t1", "repository:bench/app:pull"},
		{http.MethodHead, "/v2/a/b/c/blobs/sha256:00", "repository:a/b/c:pull"},
		{http.MethodPost, "/v2/bench/app/blobs/uploads/", "repository:bench/app:pull,push"},
		{http.MethodPut, "/v2/bench/app/blobs/uploads/123", "repository:bench/app:pull,push"},
		{http.MethodPut, "/v2/x/manifests/y/manifests/t", "repository:x/manifests/y:pull,push"},
		{http.MethodDelete, "/v2/a/manifests/sha256:00", "repository:a:delete"},
		{http.MethodGet, "/v2/a/tags/list", "repository:a:pull"},
		{http.MethodGet, "/v2/", ""},
		{http.MethodGet, "/api/v2.0/projects", ""},
	} {
		req := newReq(tc.method, "http://h"+tc.path, nil, 0)
		if got := requestScope(req); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}

// fakeRegistry answers /v2/ requests that carry a token it issued for the
// request's scope (or revoked tokens with 401) and issues tokens at
// /token for Basic user:pw.
type fakeRegistry struct {
	mu      sync.Mutex
	issued  map[string]string // token -> scope
	n       int
	bodies  []string
	revoked bool
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/token" {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("service") != "svc" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.n++
		tok := fmt.Sprintf("tok%d", f.n)
		f.issued[tok] = strings.Join(r.URL.Query()["scope"], " ")
		fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, tok)
		return
	}
	scope := requestScope(r)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if got, ok := f.issued[tok]; !ok || got != scope || f.revoked {
		f.revoked = false
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="svc",scope=%q`, r.Host, scope))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	b, _ := io.ReadAll(r.Body)
	f.bodies = append(f.bodies, string(b))
	w.WriteHeader(http.StatusCreated)
}

func TestTokenFlow(t *testing.T) {
	f := &fakeRegistry{issued: map[string]string{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := &config{reqTimeout: 5 * time.Second, blobTimeout: 5 * time.Second}
	base := newClient(srv.URL, cfg)
	defer base.close()
	cr := newCredentials(authToken, "user", "pw")
	c := base.withCredentials(cr)
	ctx := context.Background()
	put := func(body string) error {
		req := newReq(http.MethodPut, srv.URL+"/v2/a/b/manifests/t", bytes.NewReader([]byte(body)), int64(len(body)))
		return c.do(ctx, time.Second, req, http.StatusCreated, nil)
	}
	// First request: 401, token, replay with the body.
	if err := put("one"); err != nil {
		t.Fatal(err)
	}
	// Cached token: no new fetch.
	if err := put("two"); err != nil {
		t.Fatal(err)
	}
	if n := cr.fetches.Load(); n != 1 {
		t.Fatalf("%d token fetches, want 1 (cached per scope)", n)
	}
	// A different scope gets its own token.
	get := newReq(http.MethodGet, srv.URL+"/v2/a/b/manifests/t", nil, 0)
	if err := c.do(ctx, time.Second, get, http.StatusCreated, nil); err != nil {
		t.Fatal(err)
	}
	if n := cr.fetches.Load(); n != 2 {
		t.Fatalf("%d token fetches, want 2", n)
	}
	// A 401 despite a cached token refreshes it.
	f.mu.Lock()
	f.revoked = true
	f.mu.Unlock()
	if err := put("three"); err != nil {
		t.Fatal(err)
	}
	if n := cr.fetches.Load(); n != 3 {
		t.Fatalf("%d token fetches, want 3", n)
	}
	if got := strings.Join(f.bodies, ","); got != "one,two,,three" {
		t.Fatalf("bodies %q", got)
	}
	// Wrong credentials: the token request fails and so does the request.
	bad := base.withCredentials(newCredentials(authToken, "user", "nope"))
	req := newReq(http.MethodPut, srv.URL+"/v2/a/b/manifests/t", strings.NewReader("x"), 1)
	if err := bad.do(ctx, time.Second, req, http.StatusCreated, nil); err == nil || !strings.Contains(err.Error(), "token request") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestWithAuthFlag(t *testing.T) {
	got := strings.Join(withAuthFlag([]string{"-log-level", "error", "-auth=false", "--auth", "-authx"}, true), " ")
	if got != "-log-level error -authx -auth=true" {
		t.Fatalf("%q", got)
	}
}
