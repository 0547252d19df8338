package proxy_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/distributiontest"
	"github.com/berthlabs/berth/proxy"
	"github.com/berthlabs/berth/proxy/upstream"
)

// Sixteen clients pulling one uncached 256 MiB layer cost the upstream
// exactly one GET, and each of them receives the right bytes.
func TestSixteenColdPullsOneUpstreamGET(t *testing.T) {
	up := distributiontest.Start(t, distributiontest.Options{AccessLog: true})
	e := newCache(t, up.URL)
	img := pushRandom(t, up.Host+"/team/big:v1", 256<<20, 7)
	layers, err := img.Layers()
	require.NoError(t, err)
	ld, err := layers[0].Digest()
	require.NoError(t, err)
	blobPath := "/v2/team/big/blobs/" + ld.String()
	before := up.Count(func(r distributiontest.Request) bool { return r.Method == http.MethodGet && r.Path == blobPath })

	var wg sync.WaitGroup
	sums := make([]string, 16)
	errs := make([]error, 16)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(e.srv.URL + "/v2/hub/team/big/blobs/" + ld.String())
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs[i] = fmt.Errorf("status %d", resp.StatusCode)
				return
			}
			h := sha256.New()
			_, errs[i] = io.Copy(h, resp.Body)
			sums[i] = fmt.Sprintf("sha256:%x", h.Sum(nil))
		}()
	}
	wg.Wait()
	for i := range sums {
		require.NoError(t, errs[i], "client %d", i)
		assert.Equal(t, ld.String(), sums[i], "client %d got the right bytes", i)
	}
	e.settle(t)
	require.Eventually(t, func() bool {
		return up.Count(func(r distributiontest.Request) bool { return r.Method == http.MethodGet && r.Path == blobPath }) > before
	}, 10*time.Second, 10*time.Millisecond)
	gets := up.Count(func(r distributiontest.Request) bool { return r.Method == http.MethodGet && r.Path == blobPath }) - before
	assert.Equal(t, 1, gets, "one upstream GET for sixteen clients")
	assert.Equal(t, int64(1), e.fills.Stats().Fetches)

	// Now cached: served locally, no new upstream GET.
	status, _, body := get(t, http.MethodGet, e.srv.URL+"/v2/hub/team/big/blobs/"+ld.String())
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, ld.String(), digest.FromBytes(body).String())
	assert.Equal(t, int64(1), e.fills.Stats().Fetches)
}

// hostileUpstream answers manifest and blob requests with handler.
func hostileUpstream(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Each kind of bad upstream answer is refused with an error naming the
// upstream, within the timeout, and nothing of it is cached.
func TestHostileUpstream(t *testing.T) {
	good := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	blob := []byte("the real bytes")
	blobDigest := digest.FromBytes(blob)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	for _, tc := range []struct {
		name    string
		path    string // what the client asks the cache for, under /v2/hub/team/app/
		handler http.HandlerFunc
		status  int
	}{
		{"malformed manifest", "manifests/v1", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			_, _ = w.Write([]byte(`{"schemaVersion":2,"layers":[{`))
		}, http.StatusBadGateway},
		{"manifest not matching its digest", "manifests/" + digest.FromString("other").String(), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			_, _ = w.Write(good)
		}, http.StatusBadGateway},
		{"manifest over the size limit", "manifests/v1", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			_, _ = w.Write([]byte(`{"schemaVersion":2,"annotations":{"x":"` + strings.Repeat("a", 5<<20) + `"}}`))
		}, http.StatusBadGateway},
		{"redirect loop", "blobs/" + blobDigest.String(), func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
		}, http.StatusBadGateway},
		{"slowloris", "manifests/v1", func(w http.ResponseWriter, r *http.Request) {
			select { // headers never come
			case <-release:
			case <-r.Context().Done():
			}
		}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upURL := hostileUpstream(t, tc.handler)
			e := newCache(t, upURL)
			client := &http.Client{Timeout: 30 * time.Second} // far past the cache's 2 s: a hang fails here
			resp, err := client.Get(e.srv.URL + "/v2/hub/team/app/" + tc.path)
			require.NoError(t, err, "answered, not hung")
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode, string(body))
			assert.Contains(t, string(body), strings.TrimPrefix(upURL, "http://"), "names the upstream")
			assertNothingCached(t, e, tc.path)
		})
	}

	t.Run("blob not matching its digest", func(t *testing.T) {
		upURL := hostileUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("tampered bytes"))
		})
		e := newCache(t, upURL)
		resp, err := http.Get(e.srv.URL + "/v2/hub/team/app/blobs/" + blobDigest.String())
		if err == nil { // headers may be out before the end shows the bytes wrong
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		require.Error(t, err, "the response is cut, so the client cannot take it for complete")
		e.settle(t)
		assertNothingCached(t, e, "blobs/"+blobDigest.String())
	})
}

// assertNothingCached checks through the registry's own transport (which
// never consults the upstream) that path is not held.
func assertNothingCached(t *testing.T, e *cacheEnv, path string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodHead, "http://x/v2/hub/team/app/"+path, nil)
	require.NoError(t, err)
	resp, err := e.reg.Transport("test").RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "nothing cached")
}

// A project at its limit of upstream calls gets 429 with Retry-After for
// one more; another project of the same upstream is not held up by it.
func TestProjectLimitsIsolateTenants(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	upURL := hostileUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/slow/") {
			select { // a's downloads hang
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write([]byte("fast bytes"))
	})
	ep := upstream.Endpoint{URL: upURL}
	e := newCacheOf(t, map[string]proxy.Source{
		"a": {Key: "a", Endpoint: ep, MaxConcurrent: 2},
		"b": {Key: "b", Endpoint: ep, MaxConcurrent: 2},
	}, proxy.WithTimeout(30*time.Second))
	for i := range 2 { // a's two calls, hanging
		go func() {
			resp, err := http.Get(e.srv.URL + "/v2/a/slow/blobs/" + digest.FromString(fmt.Sprint(i)).String())
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	require.Eventually(t, func() bool { return e.fills.Stats().InFlight == 2 }, 10*time.Second, 5*time.Millisecond)

	status, h, body := get(t, http.MethodGet, e.srv.URL+"/v2/a/slow/blobs/"+digest.FromString("third").String())
	assert.Equal(t, http.StatusTooManyRequests, status, string(body))
	assert.Equal(t, "1", h.Get("Retry-After"))

	fast := []byte("fast bytes")
	status, _, body = get(t, http.MethodGet, e.srv.URL+"/v2/b/fast/blobs/"+digest.FromBytes(fast).String())
	assert.Equal(t, http.StatusOK, status, "project b is not held up by a")
	assert.Equal(t, fast, body)
	once.Do(func() { close(release) })
}
