package trivy_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/trivy/trivytest"
	"github.com/berthlabs/berth/storage/memory"
)

// The images, the vulnerability DB and the expected findings come from
// package trivytest.

// env is a berth registry (memory storage, in-memory SQLite) reached
// in-process through registry.Transport: no sockets, no network.
type env struct {
	rg   *registry.Registry
	rt   http.RoundTripper
	host string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	rg, err := registry.New(context.Background(), memory.New(), nil)
	require.NoError(t, err)
	return &env{rg: rg, rt: rg.Transport("scanner"), host: "berth.test"}
}

const dbRepo = "security/trivy-db:2"

// pushDB pushes the fixture DB, whose UpdatedAt is updatedAt, to repo
// (e.g. dbRepo).
func (e *env) pushDB(t testing.TB, repo string, updatedAt time.Time) {
	t.Helper()
	require.NoError(t, trivytest.PushDB(context.Background(), e.host+"/"+repo, e.rt, false, updatedAt))
}

// pushed is an image in the registry.
type pushed struct {
	repo   string
	digest digest.Digest
	layers []v1.Layer
}

func (e *env) push(t testing.TB, repo string, img v1.Image) pushed {
	t.Helper()
	ref, err := name.ParseReference(e.host + "/" + repo + ":latest")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithTransport(e.rt)))
	d, err := img.Digest()
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	return pushed{repo: repo, digest: digest.Digest(d.String()), layers: layers}
}

func (e *env) request(p pushed) scan.Request {
	return scan.Request{
		Artifact: scan.Artifact{Repository: p.repo, Digest: p.digest},
		Source:   scan.Source{Registry: e.host, Transport: e.rt},
	}
}

// must(f())(t) is f's result; t fails if f returned an error.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		require.NoError(t, err)
		return v
	}
}

// debianFindings are the findings expected for trivytest.DebianImage on
// this machine; the test fails, saying why, when the machine's packages
// leave too few of the fixture's advisories applicable.
func debianFindings(t testing.TB) []trivytest.Finding {
	t.Helper()
	want, err := trivytest.DebianFindings()
	require.NoError(t, err)
	return want
}

// worst is the highest severity of findings.
func worst(fs []trivytest.Finding) scan.Severity {
	w := scan.None
	for _, f := range fs {
		w = max(w, f.Severity)
	}
	return w
}

// countingTransport counts blob GETs by digest.
type countingTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	blobs map[string]int
}

func newCountingTransport(next http.RoundTripper) *countingTransport {
	return &countingTransport{next: next, blobs: map[string]int{}}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if i := strings.Index(r.URL.Path, "/blobs/sha256:"); i >= 0 && r.Method == http.MethodGet {
		c.mu.Lock()
		c.blobs[r.URL.Path[i+len("/blobs/"):]]++
		c.mu.Unlock()
	}
	return c.next.RoundTrip(r)
}

func (c *countingTransport) get(d string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blobs[d]
}
