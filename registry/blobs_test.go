package registry

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBlobPushPull(t *testing.T) { onEngines(t, testBlobPushPull) }

func testBlobPushPull(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
		alg     digest.Algorithm
	}{
		{"zero bytes", []byte{}, digest.SHA256},
		{"small sha256", []byte("hello, berth"), digest.SHA256},
		{"small sha512", []byte("hello, berth"), digest.SHA512},
		{"one MiB", randomBytes(1 << 20), digest.SHA256},
		{"zero bytes sha512", []byte{}, digest.SHA512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			d := tt.alg.FromBytes(tt.content)
			r := tr.do(http.MethodPost, "/v2/blobs/test/blobs/uploads/?digest="+d.String(), tt.content, nil)
			require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
			assert.Equal(t, "/v2/blobs/test/blobs/"+d.String(), r.Header.Get("Location"))
			assert.Equal(t, d.String(), r.Header.Get("Docker-Content-Digest"))

			r = tr.do(http.MethodGet, "/v2/blobs/test/blobs/"+d.String(), nil, nil)
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, tt.content, r.Body)
			assert.Equal(t, d.String(), r.Header.Get("Docker-Content-Digest"))
			assert.Equal(t, strconv.Itoa(len(tt.content)), r.Header.Get("Content-Length"))

			r = tr.do(http.MethodHead, "/v2/blobs/test/blobs/"+d.String(), nil, nil)
			require.Equal(t, http.StatusOK, r.Status)
			assert.Empty(t, r.Body)
			assert.Equal(t, strconv.Itoa(len(tt.content)), r.Header.Get("Content-Length"))
			assert.Equal(t, d.String(), r.Header.Get("Docker-Content-Digest"))
		})
	}
}

func TestBlobRange(t *testing.T) { onEngines(t, testBlobRange) }

func testBlobRange(t *testing.T) {
	tr := newTestRegistry(t)
	content := []byte("0123456789abcdefghij") // 20 bytes
	d := tr.pushBlob("r", content)

	tests := []struct {
		rng          string
		status       int
		body         string
		contentRange string
	}{
		{"bytes=0-3", http.StatusPartialContent, "0123", "bytes 0-3/20"},
		{"bytes=10-", http.StatusPartialContent, "abcdefghij", "bytes 10-19/20"},
		{"bytes=-5", http.StatusPartialContent, "fghij", "bytes 15-19/20"},
		{"bytes=19-19", http.StatusPartialContent, "j", "bytes 19-19/20"},
		{"bytes=15-100", http.StatusPartialContent, "fghij", "bytes 15-19/20"},
		{"bytes=20-", http.StatusRequestedRangeNotSatisfiable, "", "bytes */20"},
		{"bytes=100-200", http.StatusRequestedRangeNotSatisfiable, "", "bytes */20"},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			r := tr.do(http.MethodGet, "/v2/r/blobs/"+d.String(), nil, hdr("Range", tt.rng))
			require.Equal(t, tt.status, r.Status, "body: %s", r.Body)
			assert.Equal(t, tt.contentRange, r.Header.Get("Content-Range"))
			if tt.status == http.StatusPartialContent {
				assert.Equal(t, tt.body, string(r.Body))
				assert.Equal(t, strconv.Itoa(len(tt.body)), r.Header.Get("Content-Length"))
			}
		})
	}
}

// A blob is readable only in the repositories it is linked to.
func TestBlobScopedToRepository(t *testing.T) { onEngines(t, testBlobScopedToRepository) }

func testBlobScopedToRepository(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.pushBlob("a", []byte("only in a"))
	tr.pushBlob("b", []byte("something else, so b exists"))

	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r := tr.do(m, "/v2/b/blobs/"+d.String(), nil, nil)
		assert.Equal(t, http.StatusNotFound, r.Status, m)
	}
	tr.requireNoBlob("b", d)
	tr.requireNoBlob("never/pushed", d)

	r := tr.do(http.MethodPost, "/v2/b/blobs/uploads/?mount="+d.String()+"&from=a", nil, nil)
	require.Equal(t, http.StatusCreated, r.Status)
	r = tr.do(http.MethodGet, "/v2/b/blobs/"+d.String(), nil, nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "only in a", string(r.Body))
}

func TestBlobDelete(t *testing.T) { onEngines(t, testBlobDelete) }

func testBlobDelete(t *testing.T) {
	tr := newTestRegistry(t)
	content := []byte("shared content")
	d := tr.pushBlob("a", content)
	tr.pushBlob("b", content)

	r := tr.do(http.MethodDelete, "/v2/a/blobs/"+d.String(), nil, nil)
	require.Equal(t, http.StatusAccepted, r.Status, "body: %s", r.Body)
	tr.requireNoBlob("a", d)

	r = tr.do(http.MethodDelete, "/v2/a/blobs/"+d.String(), nil, nil)
	requireError(t, r, http.StatusNotFound, CodeBlobUnknown)

	r = tr.do(http.MethodGet, "/v2/b/blobs/"+d.String(), nil, nil)
	require.Equal(t, http.StatusOK, r.Status, "b keeps its link")
	assert.Equal(t, content, r.Body)
}

func TestBlobUnknownAndInvalidDigest(t *testing.T) { onEngines(t, testBlobUnknownAndInvalidDigest) }

func testBlobUnknownAndInvalidDigest(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushBlob("r", []byte("x"))
	unknown := digest.FromString("never pushed")
	tests := []struct {
		ref    string
		status int
		code   string
	}{
		{unknown.String(), http.StatusNotFound, CodeBlobUnknown},
		{digest.SHA512.FromString("never pushed").String(), http.StatusNotFound, CodeBlobUnknown},
		{"md5:" + fmt.Sprintf("%032x", 1), http.StatusBadRequest, CodeDigestInvalid},
		{"sha999:" + unknown.Encoded(), http.StatusBadRequest, CodeDigestInvalid},
		{"sha256:abc", http.StatusBadRequest, CodeDigestInvalid},
		{"sha256:" + unknown.Encoded()[:63] + "G", http.StatusBadRequest, CodeDigestInvalid},
		{"SHA256:" + unknown.Encoded(), http.StatusBadRequest, CodeDigestInvalid},
		{"notadigest", http.StatusBadRequest, CodeDigestInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				r := tr.do(m, "/v2/r/blobs/"+tt.ref, nil, nil)
				requireError(t, r, tt.status, tt.code)
			}
		})
	}
}

// A manifest's bytes can be fetched through the blob endpoint.
func TestBlobEndpointServesManifest(t *testing.T) { onEngines(t, testBlobEndpointServesManifest) }

func testBlobEndpointServesManifest(t *testing.T) {
	tr := newTestRegistry(t)
	img := tr.pushImage("r", "v1", 1)
	r := tr.do(http.MethodGet, "/v2/r/blobs/"+img.Digest.String(), nil, nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, img.Manifest, r.Body)
	tr.requireNoBlob("other", img.Digest)
}
