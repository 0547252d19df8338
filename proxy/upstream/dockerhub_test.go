package upstream_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/proxy/upstream"
)

// ociManifest is a small valid OCI image manifest and its digest.
func ociManifest(seed string) ([]byte, digest.Digest) {
	cfg := digest.FromString("config " + seed)
	body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":42},"layers":[]}`, cfg)
	return body, digest.FromBytes(body)
}

const ociManifestType = "application/vnd.oci.image.manifest.v1+json"

// fakeHub is a registry with its own token service, as Docker Hub works:
// /v2/ and every other route answer 401 with a Bearer challenge until the
// client presents the token the service issued last.
type fakeHub struct {
	srv        *httptest.Server
	user, pass string // the token service's credentials; "" = anonymous

	mu     sync.Mutex
	token  string   // the only valid token
	issued int      // tokens issued
	scopes []string // scopes asked for
	paths  []string // manifest paths served
}

func newFakeHub(t *testing.T, user, pass string) *fakeHub {
	h := &fakeHub{user: user, pass: pass}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.URL.Path == "/token" {
		if u, p, _ := r.BasicAuth(); u != h.user || p != h.pass {
			http.Error(w, `{"details":"incorrect username or password"}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("service") != "registry.docker.io" {
			http.Error(w, "wrong service", http.StatusBadRequest)
			return
		}
		h.issued++
		h.token = fmt.Sprintf("tok-%d", h.issued)
		h.scopes = append(h.scopes, strings.Join(r.URL.Query()["scope"], " "))
		fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, h.token)
		return
	}
	if h.token == "" || r.Header.Get("Authorization") != "Bearer "+h.token {
		challenge := fmt.Sprintf(`Bearer realm="%s/token",service="registry.docker.io"`, h.srv.URL)
		if repo, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/"); ok {
			challenge += fmt.Sprintf(`,scope="repository:%s:pull"`, repo)
		}
		w.Header().Set("WWW-Authenticate", challenge)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Path == "/v2/" {
		return
	}
	h.paths = append(h.paths, r.Method+" "+r.URL.Path)
	body, d := ociManifest("hub")
	w.Header().Set("Content-Type", ociManifestType)
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

func (h *fakeHub) state() (issued int, scopes, paths []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.issued, append([]string(nil), h.scopes...), append([]string(nil), h.paths...)
}

// TestDockerHubTokenFlow: the token is fetched once with the pull scope
// of library/nginx, reused, fetched again when the registry stops taking
// it; "nginx" is library/nginx and "org/app" stays as it is.
func TestDockerHubTokenFlow(t *testing.T) {
	hub := newFakeHub(t, "", "")
	ctx := testContext(t)
	c := newClient(t, upstream.Endpoint{URL: hub.srv.URL, Type: upstream.TypeDockerHub})
	_, want := ociManifest("hub")

	m, err := c.Manifest(ctx, "nginx", "latest")
	require.NoError(t, err)
	require.Equal(t, want, m.Digest)
	d, err := c.Head(ctx, "nginx", "latest")
	require.NoError(t, err)
	require.Equal(t, want, d.Digest)
	_, err = c.Manifest(ctx, "nginx", want.String())
	require.NoError(t, err)
	issued, scopes, paths := hub.state()
	require.Equal(t, 1, issued, "one token for three calls")
	require.Equal(t, []string{"repository:library/nginx:pull"}, scopes)
	require.Equal(t, []string{"GET /v2/library/nginx/manifests/latest", "HEAD /v2/library/nginx/manifests/latest",
		"GET /v2/library/nginx/manifests/" + want.String()}, paths)

	hub.mu.Lock()
	hub.token = "revoked"
	hub.mu.Unlock()
	_, err = c.Manifest(ctx, "nginx", "latest")
	require.NoError(t, err, "a rejected token is replaced")
	issued, _, _ = hub.state()
	require.Equal(t, 2, issued)

	_, err = c.Manifest(ctx, "org/app", "v1")
	require.NoError(t, err)
	issued, scopes, paths = hub.state()
	require.Equal(t, 3, issued, "another repository, another scoped token")
	require.Equal(t, "repository:org/app:pull", scopes[2])
	require.Equal(t, "GET /v2/org/app/manifests/v1", paths[len(paths)-1])
}

// TestOtherTypesKeepNames: outside Docker Hub a one-component name is
// asked for as is.
func TestOtherTypesKeepNames(t *testing.T) {
	hub := newFakeHub(t, "", "")
	_, err := newClient(t, upstream.Endpoint{URL: hub.srv.URL}).Manifest(testContext(t), "nginx", "latest")
	require.NoError(t, err)
	_, scopes, paths := hub.state()
	require.Equal(t, []string{"repository:nginx:pull"}, scopes)
	require.Equal(t, []string{"GET /v2/nginx/manifests/latest"}, paths)
}

// TestDockerHubCredentials: the token service gets the credentials; wrong
// ones are ErrDenied.
func TestDockerHubCredentials(t *testing.T) {
	hub := newFakeHub(t, "me", "secret")
	ctx := testContext(t)
	_, err := newClient(t, upstream.Endpoint{URL: hub.srv.URL, Type: upstream.TypeDockerHub, Username: "me", Password: "secret"}).
		Manifest(ctx, "nginx", "latest")
	require.NoError(t, err)
	for _, ep := range []upstream.Endpoint{
		{URL: hub.srv.URL, Type: upstream.TypeDockerHub, Username: "me", Password: "wrong"},
		{URL: hub.srv.URL, Type: upstream.TypeDockerHub},
	} {
		_, err := newClient(t, ep).Manifest(ctx, "nginx", "latest")
		require.ErrorIs(t, err, core.ErrDenied, "password %q", ep.Password)
		require.NotContains(t, err.Error(), "incorrect username", "the upstream's body is not echoed")
	}
}

// recordingTransport answers like an anonymous registry serving one
// manifest, in memory, and records every URL asked for.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, req.Method+" "+req.URL.String())
	rt.mu.Unlock()
	body, d := ociManifest("hub")
	h := http.Header{"Content-Type": {ociManifestType}, "Docker-Content-Digest": {d.String()}}
	if req.URL.Path == "/v2/" {
		body = []byte("{}")
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}, nil
}

// TestDockerHubURLs: every URL people use for Docker Hub reaches
// registry-1.docker.io over https.
func TestDockerHubURLs(t *testing.T) {
	for _, u := range []string{"https://hub.docker.com", "https://docker.io", "https://index.docker.io/", "https://registry-1.docker.io", "http://docker.io"} {
		rt := &recordingTransport{}
		c := newClient(t, upstream.Endpoint{URL: u, Type: upstream.TypeDockerHub, Transport: rt})
		_, err := c.Manifest(testContext(t), "nginx", "1.27")
		require.NoError(t, err, u)
		require.Equal(t, []string{"GET https://registry-1.docker.io/v2/", "GET https://registry-1.docker.io/v2/library/nginx/manifests/1.27"}, rt.urls, u)
	}
}
