package replicate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/replicate"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/filesystem"
)

// peer is a registry reachable over HTTP on 127.0.0.1.
type peer struct {
	t    testing.TB
	host string
	url  string
	reg  *registry.Registry // nil for external registries
	db   *sqldb.DB
	dir  string
	srv  *http.Server
	ln   net.Listener
	meta *meter
	mu   sync.Mutex
}

// meter counts the request body bytes a server receives.
type meter struct {
	in       atomic.Int64
	requests atomic.Int64
}

func (m *meter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.requests.Add(1)
		r.Body = &countBody{r.Body, &m.in}
		h.ServeHTTP(w, r)
	})
}

type countBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	b.n.Add(int64(k))
	return k, err
}

// startBerth serves a berth registry (filesystem + SQLite in dir) on addr
// ("127.0.0.1:0" for any port).
func startBerth(t testing.TB, dir, addr string, opts ...registry.Option) *peer {
	t.Helper()
	ctx := context.Background()
	drv, err := filesystem.New(filepath.Join(dir, "blobs"))
	require.NoError(t, err)
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "berth.db"))
	require.NoError(t, err)
	reg, err := registry.New(ctx, drv, db, opts...)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	p := &peer{t: t, reg: reg, db: db, dir: dir, ln: ln, meta: &meter{}}
	p.host = ln.Addr().String()
	p.url = "http://" + p.host
	p.srv = &http.Server{Handler: p.meta.wrap(reg)}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(p.kill)
	return p
}

func newBerth(t testing.TB, opts ...registry.Option) *peer {
	return startBerth(t, t.TempDir(), "127.0.0.1:0", opts...)
}

// kill stops serving at once, cutting open connections, and closes the
// database, as a crash would (minus the fsyncs it already did).
func (p *peer) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv == nil {
		return
	}
	_ = p.srv.Close()
	if p.db != nil {
		_ = p.db.Close()
	}
	p.srv = nil
}

func (p *peer) endpoint(name string) *replicate.Endpoint {
	return &replicate.Endpoint{Name: name, URL: p.url}
}

// randomImage is an OCI image with layers of the given sizes.
func randomImage(t testing.TB, sizes ...int64) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, sz := range sizes {
		l, err := random.Layer(sz, types.OCILayer)
		require.NoError(t, err)
		img, err = mutate.AppendLayers(img, l)
		require.NoError(t, err)
	}
	return img
}

func push(t testing.TB, host, ref string, img v1.Image) string {
	t.Helper()
	return pushAuth(t, host, authn.Anonymous, ref, img)
}

func pushAuth(t testing.TB, host string, auth authn.Authenticator, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(host+"/"+ref, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img, remote.WithContext(context.Background()), remote.WithAuth(auth)))
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}

func pushIndex(t testing.TB, host, ref string, idx v1.ImageIndex) string {
	t.Helper()
	return pushIndexAuth(t, host, authn.Anonymous, ref, idx)
}

func pushIndexAuth(t testing.TB, host string, auth authn.Authenticator, ref string, idx v1.ImageIndex) string {
	t.Helper()
	r, err := name.ParseReference(host+"/"+ref, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(r, idx, remote.WithContext(context.Background()), remote.WithAuth(auth)))
	d, err := idx.Digest()
	require.NoError(t, err)
	return d.String()
}

// digestAt returns the digest of ref at host, or "" if it is missing.
func digestAt(t testing.TB, host, ref string) string {
	t.Helper()
	r, err := name.ParseReference(host+"/"+ref, name.Insecure)
	require.NoError(t, err)
	d, err := remote.Head(r)
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// tagsAt lists the tags of repo at host.
func tagsAt(t testing.TB, host, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(host+"/"+repo, name.Insecure)
	require.NoError(t, err)
	tags, err := remote.List(r)
	if err != nil {
		return nil
	}
	var out []string
	for _, tg := range tags {
		if !strings.HasPrefix(tg, "sha256-") {
			out = append(out, tg)
		}
	}
	return out
}

// sameImage checks that every blob and manifest of ref is byte-identical
// at both hosts.
func sameImage(t testing.TB, srcHost, srcRef, dstHost, dstRef string) {
	t.Helper()
	s, err := name.ParseReference(srcHost+"/"+srcRef, name.Insecure)
	require.NoError(t, err)
	d, err := name.ParseReference(dstHost+"/"+dstRef, name.Insecure)
	require.NoError(t, err)
	sd, err := remote.Get(s)
	require.NoError(t, err)
	dd, err := remote.Get(d)
	require.NoError(t, err)
	require.Equal(t, sd.Digest, dd.Digest)
	require.Equal(t, string(sd.Manifest), string(dd.Manifest))
	if sd.MediaType.IsIndex() {
		return
	}
	img, err := dd.Image()
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	for _, l := range layers {
		rc, err := l.Compressed() // verifies the digest as it reads
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
	}
}

func ref(repo, tag string) string { return fmt.Sprintf("%s:%s", repo, tag) }

func remoteCatalog(reg name.Registry, auth authn.Authenticator) ([]string, error) {
	return remote.Catalog(context.Background(), reg, remote.WithAuth(auth))
}

// tagsAtAuth lists the tags of repo at host (fallback tags left out).
func tagsAtAuth(t testing.TB, host, repo string, auth authn.Authenticator) []string {
	t.Helper()
	r, err := name.NewRepository(host+"/"+repo, name.Insecure)
	require.NoError(t, err)
	tags, err := remote.List(r, remote.WithAuth(auth))
	if err != nil {
		return nil
	}
	var out []string
	for _, tg := range tags {
		if !strings.HasPrefix(tg, "sha256-") {
			out = append(out, tg)
		}
	}
	return out
}

// attach pushes an artifact of artifactType referring to repo@subject
// (a signature, an SBOM) and returns its digest.
func attach(t testing.TB, host string, auth authn.Authenticator, repo, subject, artifactType, content string) string {
	t.Helper()
	r, err := name.NewRepository(host+"/"+repo, name.Insecure)
	require.NoError(t, err)
	desc, err := remote.Head(r.Digest(subject), remote.WithAuth(auth))
	require.NoError(t, err)
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(artifactType))
	img, err = mutate.AppendLayers(img, static.NewLayer([]byte(content), "application/vnd.berth.test+json"))
	require.NoError(t, err)
	img = mutate.Subject(img, v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}).(v1.Image)
	d, err := img.Digest()
	require.NoError(t, err)
	require.NoError(t, remote.Write(r.Digest(d.String()), img, remote.WithAuth(auth)))
	return d.String()
}

// referrersAt lists the digests of the referrers of repo@subject at host
// (referrers API, or the tag schema where the registry lacks it).
func referrersAt(t testing.TB, host string, auth authn.Authenticator, repo, subject string) []string {
	t.Helper()
	r, err := name.NewRepository(host+"/"+repo, name.Insecure)
	require.NoError(t, err)
	idx, err := remote.Referrers(r.Digest(subject), remote.WithAuth(auth))
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	var out []string
	for _, m := range im.Manifests {
		out = append(out, m.Digest.String())
	}
	sort.Strings(out)
	return out
}

// randomIndex is a two-platform index of random images.
func randomIndex(t testing.TB) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: randomImage(t, 700, 900),
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return idx
}

func sorted(s ...string) []string { sort.Strings(s); return s }

func digestAtAuth(t testing.TB, host string, auth authn.Authenticator, ref string) string {
	t.Helper()
	r, err := name.ParseReference(host+"/"+ref, name.Insecure)
	require.NoError(t, err)
	d, err := remote.Head(r, remote.WithAuth(auth))
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// sameImageAuth checks manifests and blobs are byte-identical at both.
func sameImageAuth(t testing.TB, srcHost string, srcAuth authn.Authenticator, srcRef, dstHost string, dstAuth authn.Authenticator, dstRef string) {
	t.Helper()
	s, err := name.ParseReference(srcHost+"/"+srcRef, name.Insecure)
	require.NoError(t, err)
	d, err := name.ParseReference(dstHost+"/"+dstRef, name.Insecure)
	require.NoError(t, err)
	sd, err := remote.Get(s, remote.WithAuth(srcAuth))
	require.NoError(t, err)
	dd, err := remote.Get(d, remote.WithAuth(dstAuth))
	require.NoError(t, err)
	require.Equal(t, string(sd.Manifest), string(dd.Manifest))
	img, err := dd.Image()
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	for _, l := range layers {
		rc, err := l.Compressed() // verifies the digest as it reads
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
	}
}

// referrersAPI reads GET /v2/<repo>/referrers/<digest> (no fallback).
func referrersAPI(t testing.TB, host, repo, subject string) []string {
	t.Helper()
	resp, err := http.Get("http://" + host + "/v2/" + repo + "/referrers/" + subject)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var idx v1.IndexManifest
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&idx))
	var out []string
	for _, m := range idx.Manifests {
		out = append(out, m.Digest.String())
	}
	sort.Strings(out)
	return out
}
