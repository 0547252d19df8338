package registry_test

import (
	"bytes"
	"context"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/filesystem"
)

func BenchmarkPush(b *testing.B)       { benchPush(b) }
func BenchmarkPushNoSync(b *testing.B) { benchPush(b, filesystem.WithoutFsync()) }

func benchPush(b *testing.B, opts ...filesystem.Option) {
	ctx := context.Background()
	dir := b.TempDir()
	fs, _ := filesystem.New(dir+"/s", opts...)
	db, _ := sqldb.OpenSQLite(ctx, dir+"/db")
	rg, err := registry.New(ctx, fs, db)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(rg)
	defer srv.Close()
	data := make([]byte, 256<<20)
	rand.New(rand.NewSource(1)).Read(data)
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
