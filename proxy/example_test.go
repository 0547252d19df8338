package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/berthlabs/berth/proxy"
	"github.com/berthlabs/berth/proxy/fanout"
	"github.com/berthlabs/berth/proxy/upstream"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/storage/memory"
)

// fixedSources says project "hub" caches one upstream.
type fixedSources struct{ url string }

func (s fixedSources) Source(_ context.Context, project string) (proxy.Source, bool, error) {
	if project != "hub" {
		return proxy.Source{}, false, nil
	}
	return proxy.Source{Key: "hub", Endpoint: upstream.Endpoint{URL: s.url}}, true, nil
}

// A registry whose project "hub" is a pull-through cache of another
// registry: the first pull fetches and stores, the next is local, and
// when the upstream is gone the cached copy is served with a warning.
func Example() {
	ctx := context.Background()
	// The upstream: any OCI registry; here another in-memory berth.
	upReg, _ := registry.New(ctx, memory.New(), nil)
	up := httptest.NewServer(upReg)
	config := []byte(`{}`)
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	put(up.URL+"/v2/team/app/blobs/uploads/?digest=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "", config)
	put(up.URL+"/v2/team/app/manifests/v1", "application/vnd.oci.image.manifest.v1+json", manifest)

	spool, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(spool)
	fills, _ := fanout.New(spool)
	var reg *registry.Registry
	local := roundTripper(func(r *http.Request) (*http.Response, error) {
		return reg.Transport(registry.SystemActor("proxy cache")).RoundTrip(r)
	})
	cache, _ := proxy.New(fixedSources{up.URL}, local, fills)
	reg, _ = registry.New(ctx, memory.New(), nil, registry.WithUpstream(cache))
	srv := httptest.NewServer(reg)
	defer srv.Close()

	pull := func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/hub/team/app/manifests/v1", nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Warning") != "", cache.Stats().ManifestFills)
	}
	pull()     // fetched and stored
	pull()     // the tag has not moved: served locally
	up.Close() // an outage
	pull()     // the cached copy, marked stale
	// Output:
	// 200 false 1
	// 200 false 1
	// 200 true 1
}

func put(url, contentType string, body []byte) {
	method := http.MethodPut
	if contentType == "" {
		method = http.MethodPost
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
}
