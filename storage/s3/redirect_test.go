package s3_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
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
