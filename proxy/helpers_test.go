package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testimage"
	"github.com/berthlabs/berth/proxy"
	"github.com/berthlabs/berth/proxy/fanout"
	"github.com/berthlabs/berth/proxy/upstream"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/storage/memory"
)

// sources is a fixed map of proxy projects.
type sources struct {
	mu sync.Mutex
	m  map[string]proxy.Source
}

func (s *sources) Source(_ context.Context, project string) (proxy.Source, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.m[project]
	return src, ok, nil
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// cacheEnv is a berth registry whose project "hub" caches an upstream.
type cacheEnv struct {
	reg   *registry.Registry
	cache *proxy.Cache
	fills *fanout.Group
	srv   *httptest.Server
	host  string
}

func newCache(t testing.TB, upstreamURL string, opts ...proxy.Option) *cacheEnv {
	t.Helper()
	return newCacheOf(t, map[string]proxy.Source{"hub": {Key: "hub/1", Endpoint: upstream.Endpoint{URL: upstreamURL}}}, opts...)
}

// newCacheOf is a berth registry whose projects srcs names are caches.
func newCacheOf(t testing.TB, srcs map[string]proxy.Source, opts ...proxy.Option) *cacheEnv {
	t.Helper()
	ctx := context.Background()
	fills, err := fanout.New(t.TempDir(), fanout.WithFillTimeout(5*time.Minute))
	require.NoError(t, err)
	t.Cleanup(func() { _ = fills.Close(context.Background()) })
	var reg *registry.Registry
	local := roundTripper(func(r *http.Request) (*http.Response, error) {
		return reg.Transport(registry.SystemActor("proxy cache")).RoundTrip(r)
	})
	src := &sources{m: srcs}
	cache, err := proxy.New(src, local, fills, append([]proxy.Option{proxy.WithTimeout(2 * time.Second)}, opts...)...)
	require.NoError(t, err)
	reg, err = registry.New(ctx, memory.New(), nil, registry.WithUpstream(cache))
	require.NoError(t, err)
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return &cacheEnv{reg: reg, cache: cache, fills: fills, srv: srv, host: strings.TrimPrefix(srv.URL, "http://")}
}

// berthUpstream is a second berth registry, serving as an upstream.
func berthUpstream(t testing.TB) (url, host string) {
	t.Helper()
	reg, err := registry.New(context.Background(), memory.New(), nil)
	require.NoError(t, err)
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return srv.URL, strings.TrimPrefix(srv.URL, "http://")
}

func ref(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	require.NoError(t, err)
	return r
}

func pushRandom(t testing.TB, at string, size int, seed uint64) v1.Image {
	t.Helper()
	img, err := testimage.Random(size, seed)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref(t, at), img))
	return img
}

// get fetches a URL and returns its status, headers and body.
func get(t testing.TB, method, url string, accept ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if len(accept) > 0 {
		req.Header.Set("Accept", strings.Join(accept, ", "))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, body
}

var manifestAccept = []string{
	"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
}

// settle waits until no fill is in flight: the blobs clients read have
// been stored (commits run after the last byte reached the readers).
func (e *cacheEnv) settle(t testing.TB) {
	t.Helper()
	require.Eventually(t, func() bool { return e.fills.Stats().InFlight == 0 }, 30*time.Second, 5*time.Millisecond)
}
