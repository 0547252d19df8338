package s3_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/s3test"
	"github.com/berthlabs/berth/storage"
)

// A presigned URL serves the blob's bytes to a client with no
// credentials; an unknown blob gets no URL.
func TestRedirectURL(t *testing.T) {
	srv := s3test.Start(t)
	d := open(t, srv, "r/")
	var _ storage.Redirector = d
	content := []byte(rand.Text() + rand.Text())
	dgst := digest.FromBytes(content)
	_, err := storage.Put(t.Context(), d, dgst, bytes.NewReader(content))
	require.NoError(t, err)

	u, err := d.RedirectURL(t.Context(), dgst)
	require.NoError(t, err)
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, content, got)

	resp, err = http.Get(u + "x") // the signature covers the URL
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	_, err = d.RedirectURL(t.Context(), digest.FromString("absent"))
	assert.ErrorIs(t, err, storage.ErrBlobUnknown)
}

// Sessions committed at once (clients pushing layers through several
// nodes), some of the same content, all succeed and publish each blob.
func TestConcurrentCommits(t *testing.T) {
	srv := s3test.Start(t)
	d := open(t, srv, "c/")
	contents := make([][]byte, 64)
	for i := range contents {
		contents[i] = []byte(rand.Text() + strings.Repeat("x", i%4))
		if i%4 == 1 {
			contents[i] = contents[i-1] // the same layer, pushed twice
		}
	}
	errs := make([]error, len(contents))
	var wg sync.WaitGroup
	for i, c := range contents {
		wg.Go(func() { _, errs[i] = storage.Put(t.Context(), d, digest.FromBytes(c), bytes.NewReader(c)) })
	}
	wg.Wait()
	for i, c := range contents {
		require.NoError(t, errs[i])
		rc, err := d.Open(t.Context(), digest.FromBytes(c))
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		assert.Equal(t, c, got)
	}
}
