package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/filesystem"
)

// benchServer serves a registry over the filesystem driver and file-backed
// SQLite in a temporary directory, for the benchmark's lifetime.
func benchServer(b *testing.B, opts ...filesystem.Option) *httptest.Server {
	ctx := context.Background()
	dir := b.TempDir()
	fs, err := filesystem.New(dir+"/s", opts...)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqldb.OpenSQLite(ctx, dir+"/db")
	if err != nil {
		b.Fatal(err)
	}
	rg, err := registry.New(ctx, fs, db)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(rg)
	b.Cleanup(func() { srv.Close(); db.Close() })
	return srv
}

// benchData is 256 MiB of deterministic random bytes.
func benchData() []byte {
	data := make([]byte, 256<<20)
	rand.New(rand.NewSource(1)).Read(data)
	return data
}

func BenchmarkPush(b *testing.B)       { benchPush(b) }
func BenchmarkPushNoSync(b *testing.B) { benchPush(b, filesystem.WithoutFsync()) }

func benchPush(b *testing.B, opts ...filesystem.Option) {
	srv := benchServer(b, opts...)
	data := benchData()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		data[0] = byte(i)
		d := digest.FromBytes(data)
		b.StartTimer()
		resp, err := http.Post(srv.URL+"/v2/a/b/blobs/uploads/?digest="+d.String(), "application/octet-stream", bytes.NewReader(data))
		if err != nil || resp.StatusCode != 201 {
			b.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// BenchmarkManifestPut measures sequential durable manifest pushes by tag
// into file-backed SQLite.
func BenchmarkManifestPut(b *testing.B) {
	srv := benchServer(b)
	cfg, layer := []byte(`{"architecture":"amd64","os":"linux"}`), []byte("layer")
	for _, blob := range [][]byte{cfg, layer} {
		resp, err := http.Post(srv.URL+"/v2/a/b/blobs/uploads/?digest="+digest.FromBytes(blob).String(), "application/octet-stream", bytes.NewReader(blob))
		if err != nil || resp.StatusCode != 201 {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	client := srv.Client()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
			`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},`+
			`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}],`+
			`"annotations":{"i":"%d"}}`, digest.FromBytes(cfg), len(cfg), digest.FromBytes(layer), len(layer), i)
		req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v2/a/b/manifests/t%d", srv.URL, i), strings.NewReader(m))
		req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 201 {
			b.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// BenchmarkPushChunked measures a 256 MiB push in 16 MiB PATCHes.
func BenchmarkPushChunked(b *testing.B) {
	srv := benchServer(b)
	data := benchData()
	const chunk = 16 << 20
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		data[0] = byte(i)
		d := digest.FromBytes(data)
		b.StartTimer()
		resp, err := http.Post(srv.URL+"/v2/a/b/blobs/uploads/", "", nil)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatal(err)
		}
		resp.Body.Close()
		loc := srv.URL + resp.Header.Get("Location")
		for off := 0; off < len(data); off += chunk {
			req, _ := http.NewRequest(http.MethodPatch, loc, bytes.NewReader(data[off:off+chunk]))
			req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+chunk-1))
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusAccepted {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
		req, _ := http.NewRequest(http.MethodPut, loc+"?digest="+d.String(), nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}
