package upstream_test

import (
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/proxy/upstream"
)

// TestTLS: an https upstream is trusted through CACert or Insecure, and
// otherwise unavailable, never retried over plain HTTP.
func TestTLS(t *testing.T) {
	body, want := ociManifest("tls")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/" {
			w.Header().Set("Content-Type", ociManifestType)
			_, _ = w.Write(body)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusting client's handshake fails, as it should
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	ctx := testContext(t)

	for _, ep := range []upstream.Endpoint{{URL: srv.URL, CACert: ca}, {URL: srv.URL, Insecure: true}} {
		m, err := newClient(t, ep).Manifest(ctx, "app", "v1")
		require.NoError(t, err)
		require.Equal(t, want, m.Digest)
	}
	_, err := newClient(t, upstream.Endpoint{URL: srv.URL}).Manifest(ctx, "app", "v1")
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.Contains(t, err.Error(), "certificate")

	// go-containerregistry would try plain HTTP too for a host that looks
	// local; the client never lets such a request reach the network.
	var mu sync.Mutex
	var schemes []string
	failing := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		schemes = append(schemes, r.URL.Scheme)
		return nil, errors.New("tls: handshake failure")
	})
	_, err = newClient(t, upstream.Endpoint{URL: "https://127.0.0.1:5000", Transport: failing}).Manifest(ctx, "app", "v1")
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.Contains(t, err.Error(), "handshake failure")
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, schemes)
	for _, s := range schemes {
		require.Equal(t, "https", s)
	}
}

// TestRedactsSignedURLs: a failure at blob storage does not print the
// signed query string of the redirect.
func TestRedactsSignedURLs(t *testing.T) {
	storage := httptest.NewServer(http.NotFoundHandler())
	storageURL := storage.URL
	storage.Close() // blob storage is down
	d := digest.FromString("layer")
	srv, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, storageURL+"/bucket/layer?X-Amz-Signature=very-secret", http.StatusTemporaryRedirect)
	})
	_, _, err := newClient(t, upstream.Endpoint{URL: srv.URL}).Blob(testContext(t), "app", d)
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.Contains(t, err.Error(), storageURL+"/bucket/layer")
	require.NotContains(t, err.Error(), "very-secret")
}
