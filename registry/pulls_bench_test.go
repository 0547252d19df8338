package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/storage/memory"
)

// BenchmarkManifestGetPullTimes measures what recording pull times costs
// a manifest GET. "get" serves GET /v2/<repo>/manifests/<tag> through the
// handler (no network, in-memory storage, so nothing hides the cost) with
// pull times recorded as always; "record" is the recording alone, with the
// same parallelism. record ÷ get is the share of a GET's time the
// recording takes, the most throughput it can cost (the goal: under 5 %).
//
//	go test ./registry -run '^$' -bench ManifestGetPullTimes
func BenchmarkManifestGetPullTimes(b *testing.B) {
	ctx := b.Context()
	rg, err := New(ctx, memory.New(), nil, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	manifest := benchImage(b, rg, "library/app", "v1")
	b.Run("get", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v2/library/app/manifests/v1", nil)
				req.Header.Set("Accept", v1.MediaTypeImageManifest)
				rec := httptest.NewRecorder()
				rg.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), manifest) {
					b.Fatalf("GET: %d %s", rec.Code, rec.Body)
				}
			}
		})
	})
	b.Run("record", func(b *testing.B) {
		d := digest.FromBytes(manifest).String()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rg.pulls.record("library/app", d, "v1", time.Now())
			}
		})
	})
}

// benchImage pushes a one-layer image to repo:tag through the handler and
// returns its manifest.
func benchImage(b *testing.B, rg *Registry, repo, tag string) []byte {
	b.Helper()
	put := func(path, contentType string, body []byte) {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPut, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		rg.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("PUT %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	blob := func(content []byte) v1.Descriptor {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil)
		rec := httptest.NewRecorder()
		rg.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("POST upload: %d %s", rec.Code, rec.Body)
		}
		d := digest.FromBytes(content)
		put(rec.Header().Get("Location")+"?digest="+d.String(), "application/octet-stream", content)
		return v1.Descriptor{MediaType: v1.MediaTypeImageLayer, Digest: d, Size: int64(len(content))}
	}
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	m := v1.Manifest{MediaType: v1.MediaTypeImageManifest, Config: blob(config),
		Layers: []v1.Descriptor{blob(bytes.Repeat([]byte("layer"), 100))}}
	m.Config.MediaType = v1.MediaTypeImageConfig
	m.SchemaVersion = 2
	body, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	put("/v2/"+repo+"/manifests/"+tag, v1.MediaTypeImageManifest, body)
	return body
}
