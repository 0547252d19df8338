package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/proxy/upstream"
)

// A Docker Hub-like upstream serving library/nginx:latest; the client
// asks for "nginx", verifies the manifest, and reports a missing tag as
// core.ErrNotFound (answer 404) rather than core.ErrUnavailable (serve
// the cached copy).
func Example() {
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json",` +
		`"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/":
		case "/v2/library/nginx/manifests/latest":
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			_, _ = w.Write(manifest)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`))
		}
	}))
	defer srv.Close()

	c, err := upstream.New(upstream.Endpoint{URL: srv.URL, Type: upstream.TypeDockerHub})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()
	m, err := c.Manifest(ctx, "nginx", "latest")
	if err != nil {
		panic(err)
	}
	fmt.Println(m.MediaType, m.Size)
	fmt.Println(m.Digest)

	_, err = c.Manifest(ctx, "nginx", "no-such-tag")
	fmt.Println(errors.Is(err, core.ErrNotFound), errors.Is(err, core.ErrUnavailable))
	// Output:
	// application/vnd.oci.image.manifest.v1+json 246
	// sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268
	// true false
}
