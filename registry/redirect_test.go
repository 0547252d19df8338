package registry

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/memory"
)

// redirectingStore is a memory driver whose blobs "live" at a URL.
type redirectingStore struct{ storage.Driver }

func (s redirectingStore) RedirectURL(ctx context.Context, d digest.Digest) (string, error) {
	if _, err := s.Stat(ctx, d); err != nil {
		return "", err
	}
	return "https://store.example/blobs/" + d.Encoded() + "?sig=1", nil
}

// With redirects on, a blob GET is answered 307 to the store's URL (after
// the usual checks, and recorded as a pull); a HEAD, a manifest fetched as
// a blob and an unknown blob are answered here.
func TestBlobRedirects(t *testing.T) {
	events := newRecordedEvents()
	rg, err := New(t.Context(), redirectingStore{memory.New()}, nil, WithBlobRedirects(), WithEventSink(events),
		WithLogger(slog.New(slog.NewTextHandler(testLog(t), nil))))
	require.NoError(t, err)
	srv := httptest.NewServer(rg)
	t.Cleanup(srv.Close)
	tr := &testRegistry{t: t, rg: rg, srv: srv}
	img := tr.pushImage("app", "v1", 1)
	layer := digest.FromBytes(img.Layers[0])
	drain := func() {
		for len(events.ch) > 0 {
			<-events.ch
		}
	}
	drain()

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + "/v2/app/blobs/" + layer.String())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	assert.Equal(t, "https://store.example/blobs/"+layer.Encoded()+"?sig=1", resp.Header.Get("Location"))
	assert.Equal(t, layer.String(), resp.Header.Get("Docker-Content-Digest"))
	e := <-events.ch
	assert.Equal(t, EventPull, e.Action)
	assert.Equal(t, layer, e.Digest)

	r := tr.do(http.MethodHead, "/v2/app/blobs/"+layer.String(), nil, nil)
	assert.Equal(t, http.StatusOK, r.Status, "HEAD is answered here")

	r = tr.do(http.MethodGet, "/v2/app/blobs/"+img.Digest.String(), nil, nil)
	assert.Equal(t, http.StatusOK, r.Status, "a manifest lives in the database, not the store")
	assert.Equal(t, img.Manifest, r.Body)

	r = tr.do(http.MethodGet, "/v2/other/blobs/"+layer.String(), nil, nil)
	requireError(t, r, http.StatusNotFound, CodeBlobUnknown) // not linked there: no URL handed out
}
