package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/storage/memory"
)

// A program embeds the registry next to its own routes: blobs in memory,
// metadata in a private in-memory SQLite database.
func Example() {
	ctx := context.Background()
	rg, err := registry.New(ctx, memory.New(), nil)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v2/", rg)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	send := func(method, path, contentType string, body []byte) *http.Response {
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, bytes.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		return resp
	}

	// Push the config blob in one request: POST with ?digest=.
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	configDigest := digest.FromBytes(config)
	resp := send(http.MethodPost, "/v2/demo/app/blobs/uploads/?digest="+configDigest.String(),
		"application/octet-stream", config)
	resp.Body.Close()
	fmt.Println("blob:", resp.Status, resp.Header.Get("Docker-Content-Digest"))

	// Push a manifest referencing it, under a tag.
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,`+
		`"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},`+
		`"layers":[]}`, configDigest, len(config)))
	resp = send(http.MethodPut, "/v2/demo/app/manifests/v1", registry.MediaTypeOCIManifest, manifest)
	resp.Body.Close()
	fmt.Println("manifest:", resp.Status, resp.Header.Get("Docker-Content-Digest"))

	// Pull it back by tag.
	resp = send(http.MethodGet, "/v2/demo/app/manifests/v1", "", nil)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pull:", resp.Status, resp.Header.Get("Content-Type"), bytes.Equal(got, manifest))

	// Output:
	// blob: 201 Created sha256:9d99a75171aea000c711b34c0e5e3f28d3d537dd99d110eafbfbc2bd8e52c2bf
	// manifest: 201 Created sha256:746149bd040cb1d72951d8d48cda127c207afbe17ffc8fcc793124006084f144
	// pull: 200 OK application/vnd.oci.image.manifest.v1+json true
}
