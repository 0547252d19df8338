package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
)

// fakeUpstream answers with fixed results and counts its calls.
type fakeUpstream struct {
	warning string
	err     error
	blob    []byte
	calls   atomic.Int32
}

func (f *fakeUpstream) RefreshManifest(context.Context, string, string) (string, error) {
	f.calls.Add(1)
	return f.warning, f.err
}

func (f *fakeUpstream) Blob(_ context.Context, repo string, d digest.Digest) (io.ReadCloser, int64, error) {
	f.calls.Add(1)
	if f.blob == nil {
		return nil, 0, fmt.Errorf("%s@%s: %w", repo, d, core.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(f.blob)), int64(len(f.blob)), nil
}

func (f *fakeUpstream) RefreshReferrers(context.Context, string, digest.Digest) (string, error) {
	f.calls.Add(1)
	return f.warning, f.err
}

// What an Upstream's answers make of a pull: a local copy is served
// whatever the upstream said (its failure becoming a Warning), its error
// is answered only when there is no copy, and requests through Transport
// never consult it.
func TestUpstreamHook(t *testing.T) { onEngines(t, testUpstreamHook) }

func testUpstreamHook(t *testing.T) {
	up := &fakeUpstream{}
	tr := newTestRegistry(t, WithUpstream(up))
	img := tr.pushImage("hub/app", "v1", 1)

	up.err = fmt.Errorf("upstream example.com: manifest app:v1: %w", core.ErrUnavailable)
	r := tr.getManifest("hub/app", "v1")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, `110 berth "upstream example.com: manifest app:v1: unavailable"`, r.Header.Get("Warning"))

	r = tr.getManifest("hub/app", "v2")
	requireError(t, r, http.StatusServiceUnavailable, "UNAVAILABLE")
	assert.Contains(t, string(r.Body), "example.com")

	up.err = &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyRequests, Message: "slow down",
		Header: http.Header{"Retry-After": {"1"}}}
	r = tr.getManifest("hub/app", "v2")
	requireError(t, r, http.StatusTooManyRequests, CodeTooManyRequests)
	assert.Equal(t, "1", r.Header.Get("Retry-After"))

	up.err, up.warning = nil, "served \"stale\"\r\nX-Injected: 1"
	r = tr.getManifest("hub/app", img.Digest.String())
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, `110 berth "served 'stale'''X-Injected: 1"`, r.Header.Get("Warning"), "no header injection, no broken quoting")
	assert.Empty(t, r.Header.Get("X-Injected"))

	// A blob the repository lacks comes from the upstream.
	up.warning, up.blob = "", []byte("from upstream")
	d := digest.FromBytes(up.blob)
	r = tr.do(http.MethodGet, "/v2/hub/app/blobs/"+d.String(), nil, nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, up.blob, r.Body)
	up.blob = nil
	r = tr.do(http.MethodGet, "/v2/hub/app/blobs/"+d.String(), nil, nil)
	requireError(t, r, http.StatusNotFound, CodeBlobUnknown)

	// Referrers: the local list, with the upstream's failure as a warning.
	up.err = errors.New("boom")
	r = tr.do(http.MethodGet, "/v2/hub/app/referrers/"+img.Digest.String(), nil, nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, `110 berth "boom"`, r.Header.Get("Warning"))

	// In-process requests (the cache storing, a scanner reading) never
	// consult the upstream.
	before := up.calls.Load()
	req, _ := http.NewRequest(http.MethodGet, "http://x/v2/hub/app/manifests/v9", nil)
	resp, err := tr.rg.Transport("scanner").RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, before, up.calls.Load())
}

// AllowSparse lets a request through Transport store an index whose
// children are absent; from outside it changes nothing.
func TestAllowSparseOnlyInProcess(t *testing.T) { onEngines(t, testAllowSparseOnlyInProcess) }

func testAllowSparseOnlyInProcess(t *testing.T) {
	tr := newTestRegistry(t)
	child := randomImage(t, 1)
	idx := indexOf(t, v1.MediaTypeImageIndex, descriptorOf(v1.MediaTypeImageManifest, child.Manifest))

	r := tr.putManifest("hub/app", "v1", v1.MediaTypeImageIndex, idx)
	requireError(t, r, http.StatusBadRequest, CodeManifestBlobUnknown)

	put := func(ctx context.Context) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://x/v2/hub/app/manifests/v1", bytes.NewReader(idx))
		require.NoError(t, err)
		req.Header.Set("Content-Type", v1.MediaTypeImageIndex)
		resp, err := tr.rg.Transport("cache").RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusBadRequest, put(context.Background()), "not without AllowSparse")
	assert.Equal(t, http.StatusCreated, put(AllowSparse(context.Background())))

	// An outside request carrying the mark in its context (a handler
	// wrapping the registry) is still held to the rule.
	req, _ := http.NewRequestWithContext(AllowSparse(context.Background()), http.MethodPut,
		tr.srv.URL+"/v2/hub/app/manifests/v2", bytes.NewReader(idx))
	req.Header.Set("Content-Type", v1.MediaTypeImageIndex)
	r = tr.serve(req)
	assert.Equal(t, http.StatusBadRequest, r.Status, strings.TrimSpace(string(r.Body)))
}
