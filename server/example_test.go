package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// A complete registry in-process: memory storage, in-memory SQLite, auth
// on. An image is pushed and pulled over HTTP as the admin, into the
// "library" project every server starts with, and the management API
// lists it.
func Example() {
	ctx := context.Background()
	db, _ := sqldb.OpenSQLiteMemory(ctx)
	defer db.Close()
	hs := httptest.NewUnstartedServer(nil) // its address is the external URL
	host := hs.Listener.Addr().String()
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", "admin-password-1", "http://"+host
	srv, err := server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		panic(err)
	}
	defer srv.Close(ctx)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	defer hs.Close()

	admin := remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password-1"})
	img, _ := random.Image(1024, 2)
	ref, _ := name.NewTag(host+"/library/app:v1", name.Insecure)
	if err := remote.Write(ref, img, admin); err != nil {
		panic(err)
	}
	pulled, _ := remote.Image(ref, admin)
	want, _ := img.Digest()
	got, _ := pulled.Digest()
	fmt.Println("pulled what was pushed:", got == want)

	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/v2.0/projects/library/repositories", nil)
	req.SetBasicAuth("admin", "admin-password-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, strings.Contains(string(body), `"name":"library/app"`))
	// Output:
	// pulled what was pushed: true
	// 200 OK true
}

// A feature of your own: a pull gate refusing images tagged "latest" and
// a route of your own, wired like the built-in features.
func ExampleFeature() {
	ctx := context.Background()
	db, _ := sqldb.OpenSQLiteMemory(ctx)
	defer db.Close()
	noLatest := registry.PullGateFunc(func(ctx context.Context, t registry.Target) error {
		if t.Reference == "latest" {
			return registry.Denied("pull by version, not latest")
		}
		return nil
	})
	policy := server.FeatureFunc(func(a *server.Assembly) error {
		a.AddPullGate(noLatest)
		a.Handle("GET /policy", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, "no latest")
		}))
		return nil
	})
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.Auth = "", false
	srv, _ := server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db), server.WithFeature(policy),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close(ctx)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	img, _ := random.Image(64, 1)
	for _, tag := range []string{"1.0", "latest"} {
		ref, _ := name.NewTag(strings.TrimPrefix(hs.URL, "http://")+"/team/app:"+tag, name.Insecure)
		_ = remote.Write(ref, img)
		_, err := remote.Image(ref)
		fmt.Println(tag, err == nil)
	}
	resp, _ := http.Get(hs.URL + "/policy")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(b))
	// Output:
	// 1.0 true
	// latest false
	// no latest
}
