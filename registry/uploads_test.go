package registry

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startUpload opens a session in repo and returns its Location.
func (tr *testRegistry) startUpload(repo string) string {
	tr.t.Helper()
	r := tr.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, nil)
	require.Equal(tr.t, http.StatusAccepted, r.Status, "body: %s", r.Body)
	require.Equal(tr.t, "0-0", r.Header.Get("Range"))
	loc := r.Header.Get("Location")
	require.True(tr.t, strings.HasPrefix(loc, "/v2/"+repo+"/blobs/uploads/"), loc)
	return loc
}

// patchChunk sends one chunk with Content-Range and requires 202.
func (tr *testRegistry) patchChunk(loc string, offset int, chunk []byte) *response {
	tr.t.Helper()
	r := tr.do(http.MethodPatch, loc, chunk, hdr("Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", offset, offset+len(chunk)-1)))
	require.Equal(tr.t, http.StatusAccepted, r.Status, "body: %s", r.Body)
	return r
}

// uploadOffset asks for the session's status and returns its Range header.
func (tr *testRegistry) uploadRange(loc string) string {
	tr.t.Helper()
	r := tr.do(http.MethodGet, loc, nil, nil)
	require.Equal(tr.t, http.StatusNoContent, r.Status, "body: %s", r.Body)
	require.Equal(tr.t, loc, r.Header.Get("Location"))
	return r.Header.Get("Range")
}

func TestChunkedUpload(t *testing.T) { onEngines(t, testChunkedUpload) }

func testChunkedUpload(t *testing.T) {
	content := randomBytes(3000)
	tests := []struct {
		name   string
		alg    digest.Algorithm
		final  []byte // sent with the closing PUT
		ranged bool   // chunks carry Content-Range
	}{
		{"ranges, empty PUT", digest.SHA256, nil, true},
		{"ranges, last chunk in PUT", digest.SHA256, content[2000:], true},
		{"streamed without ranges", digest.SHA256, nil, false},
		{"sha512", digest.SHA512, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			loc := tr.startUpload("chunky")
			end := len(content) - len(tt.final)
			for off := 0; off < end; off += 1000 {
				chunk := content[off:min(off+1000, end)]
				var r *response
				if tt.ranged {
					r = tr.patchChunk(loc, off, chunk)
				} else {
					r = tr.do(http.MethodPatch, loc, chunk, nil)
					require.Equal(t, http.StatusAccepted, r.Status)
				}
				want := fmt.Sprintf("0-%d", off+len(chunk)-1)
				assert.Equal(t, want, r.Header.Get("Range"))
				assert.Equal(t, loc, r.Header.Get("Location"))
				assert.Equal(t, want, tr.uploadRange(loc))
			}
			d := tt.alg.FromBytes(content)
			h := http.Header{}
			if tt.final != nil {
				h = hdr("Content-Range", fmt.Sprintf("%d-%d", end, len(content)-1))
			}
			r := tr.do(http.MethodPut, loc+"?digest="+d.String(), tt.final, h)
			require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
			assert.Equal(t, "/v2/chunky/blobs/"+d.String(), r.Header.Get("Location"))
			assert.Equal(t, d.String(), r.Header.Get("Docker-Content-Digest"))

			r = tr.do(http.MethodGet, "/v2/chunky/blobs/"+d.String(), nil, nil)
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, content, r.Body)

			// The session is gone once committed.
			requireError(t, tr.do(http.MethodGet, loc, nil, nil), http.StatusNotFound, CodeBlobUploadUnknown)
		})
	}
}

func TestUploadOutOfOrderChunk(t *testing.T) { onEngines(t, testUploadOutOfOrderChunk) }

func testUploadOutOfOrderChunk(t *testing.T) {
	tr := newTestRegistry(t)
	loc := tr.startUpload("r")
	tr.patchChunk(loc, 0, []byte("01234"))

	for _, rng := range []string{"0-4", "6-10", "3-7"} {
		t.Run(rng, func(t *testing.T) {
			r := tr.do(http.MethodPatch, loc, []byte("56789"), hdr("Content-Range", rng))
			requireError(t, r, http.StatusRequestedRangeNotSatisfiable, CodeBlobUploadInvalid)
			assert.Equal(t, "0-4", r.Header.Get("Range"))
			assert.Equal(t, loc, r.Header.Get("Location"))
			assert.Equal(t, "0-4", tr.uploadRange(loc))
		})
	}
	t.Run("on the closing PUT", func(t *testing.T) {
		d := digest.FromString("0123456789")
		r := tr.do(http.MethodPut, loc+"?digest="+d.String(), []byte("56789"), hdr("Content-Range", "7-11"))
		requireError(t, r, http.StatusRequestedRangeNotSatisfiable, CodeBlobUploadInvalid)
		assert.Equal(t, "0-4", r.Header.Get("Range"))
		tr.requireNoBlob("r", d)
	})

	tr.patchChunk(loc, 5, []byte("56789"))
	d := digest.FromString("0123456789")
	r := tr.do(http.MethodPut, loc+"?digest="+d.String(), nil, nil)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
}

func TestUploadCancel(t *testing.T) { onEngines(t, testUploadCancel) }

func testUploadCancel(t *testing.T) {
	tr := newTestRegistry(t)
	loc := tr.startUpload("r")
	tr.patchChunk(loc, 0, []byte("abc"))

	r := tr.do(http.MethodDelete, loc, nil, nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body: %s", r.Body)

	d := digest.FromString("abc")
	for _, m := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		requireError(t, tr.do(m, loc, []byte("d"), nil), http.StatusNotFound, CodeBlobUploadUnknown)
	}
	requireError(t, tr.do(http.MethodPut, loc+"?digest="+d.String(), nil, nil), http.StatusNotFound, CodeBlobUploadUnknown)
	tr.requireNoBlob("r", d)
}

func TestUploadUnknownSession(t *testing.T) { onEngines(t, testUploadUnknownSession) }

func testUploadUnknownSession(t *testing.T) {
	tr := newTestRegistry(t)
	requireError(t, tr.do(http.MethodGet, "/v2/r/blobs/uploads/nosuchsession", nil, nil),
		http.StatusNotFound, CodeBlobUploadUnknown)
}

// An upload session belongs to the repository that opened it.
func TestUploadSessionBoundToRepository(t *testing.T) {
	onEngines(t, testUploadSessionBoundToRepository)
}

func testUploadSessionBoundToRepository(t *testing.T) {
	tr := newTestRegistry(t)
	locA := tr.startUpload("a")
	tr.patchChunk(locA, 0, []byte("abc"))
	locB := strings.Replace(locA, "/v2/a/", "/v2/b/", 1)
	d := digest.FromString("abcdef")

	tests := []struct {
		method string
		path   string
		body   []byte
	}{
		{http.MethodGet, locB, nil},
		{http.MethodPatch, locB, []byte("def")},
		{http.MethodPut, locB + "?digest=" + d.String(), []byte("def")},
		{http.MethodDelete, locB, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			requireError(t, tr.do(tt.method, tt.path, tt.body, nil), http.StatusNotFound, CodeBlobUploadUnknown)
		})
	}
	tr.requireNoBlob("b", d)

	// The session in a is untouched and completes there.
	assert.Equal(t, "0-2", tr.uploadRange(locA))
	r := tr.do(http.MethodPut, locA+"?digest="+d.String(), []byte("def"), nil)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
	tr.requireNoBlob("b", d)
}

func TestUploadWrongDigest(t *testing.T) { onEngines(t, testUploadWrongDigest) }

func testUploadWrongDigest(t *testing.T) {
	tr := newTestRegistry(t)
	content := []byte("real content")
	wrong := digest.FromString("claimed content")

	t.Run("monolithic", func(t *testing.T) {
		r := tr.do(http.MethodPost, "/v2/r/blobs/uploads/?digest="+wrong.String(), content, nil)
		requireError(t, r, http.StatusBadRequest, CodeDigestInvalid)
		tr.requireNoBlob("r", wrong)
		tr.requireNoBlob("r", digest.FromBytes(content))
	})
	t.Run("closing PUT", func(t *testing.T) {
		loc := tr.startUpload("r")
		tr.patchChunk(loc, 0, content)
		r := tr.do(http.MethodPut, loc+"?digest="+wrong.String(), nil, nil)
		requireError(t, r, http.StatusBadRequest, CodeDigestInvalid)
		tr.requireNoBlob("r", wrong)
		tr.requireNoBlob("r", digest.FromBytes(content))
	})
	t.Run("digest missing or malformed", func(t *testing.T) {
		loc := tr.startUpload("r")
		tr.patchChunk(loc, 0, content)
		for _, q := range []string{"", "?digest=", "?digest=md5:" + strings.Repeat("0", 32), "?digest=sha999:" + wrong.Encoded(), "?digest=sha256:zz"} {
			requireError(t, tr.do(http.MethodPut, loc+q, nil, nil), http.StatusBadRequest, CodeDigestInvalid)
		}
		// A refused digest leaves the session usable.
		assert.Equal(t, fmt.Sprintf("0-%d", len(content)-1), tr.uploadRange(loc))
	})
	t.Run("unsupported algorithm on POST", func(t *testing.T) {
		for _, d := range []string{"md5:" + strings.Repeat("0", 32), "sha999:" + wrong.Encoded()} {
			r := tr.do(http.MethodPost, "/v2/r/blobs/uploads/?digest="+d, content, nil)
			requireError(t, r, http.StatusBadRequest, CodeDigestInvalid)
		}
	})
	assert.Nil(t, tr.tagList("r"))
}

func TestUploadBadContentRange(t *testing.T) { onEngines(t, testUploadBadContentRange) }

func testUploadBadContentRange(t *testing.T) {
	tr := newTestRegistry(t)
	loc := tr.startUpload("r")
	tr.patchChunk(loc, 0, []byte("abc"))

	tests := []struct {
		name string
		rng  string
		body string
	}{
		{"garbage", "abc", "def"},
		{"reversed", "5-3", "def"},
		{"negative", "-1-1", "def"},
		{"open ended", "3-", "def"},
		{"plus sign", "+3-5", "def"},
		{"bad total", "3-5/x", "def"},
		{"range longer than body", "3-9", "def"},
		{"range shorter than body", "3-3", "def"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tr.do(http.MethodPatch, loc, []byte(tt.body), hdr("Content-Range", tt.rng))
			requireError(t, r, http.StatusBadRequest, CodeBlobUploadInvalid)
			assert.Equal(t, "0-2", tr.uploadRange(loc), "the session keeps its offset")
		})
	}
}

// shortBodyRequest is a PATCH whose body ends before its Content-Length.
func shortBodyRequest(loc string) string {
	return "PATCH " + loc + " HTTP/1.1\r\nHost: registry\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Length: 10\r\nConnection: close\r\n\r\ndef"
}

func TestUploadShortBody(t *testing.T) { onEngines(t, testUploadShortBody) }

func testUploadShortBody(t *testing.T) {
	tr := newTestRegistry(t)
	loc := tr.startUpload("r")
	tr.patchChunk(loc, 0, []byte("abc"))

	t.Run("raw TCP", func(t *testing.T) {
		conn, err := net.Dial("tcp", tr.srv.Listener.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.Write([]byte(shortBodyRequest(loc)))
		require.NoError(t, err)
		require.NoError(t, conn.(*net.TCPConn).CloseWrite())
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		requireError(t, &response{Status: resp.StatusCode, Header: resp.Header, Body: body},
			http.StatusBadRequest, CodeBlobUploadInvalid)
		assert.Equal(t, "0-2", tr.uploadRange(loc))
	})
	t.Run("declared length", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPatch, loc, strings.NewReader("def"))
		req.ContentLength = 10
		requireError(t, tr.serve(req), http.StatusBadRequest, CodeBlobUploadInvalid)
		assert.Equal(t, "0-2", tr.uploadRange(loc))
	})
	t.Run("Content-Range", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPatch, loc, strings.NewReader("def"))
		req.ContentLength = -1
		req.Header.Set("Content-Range", "3-9")
		requireError(t, tr.serve(req), http.StatusBadRequest, CodeBlobUploadInvalid)
		assert.Equal(t, "0-2", tr.uploadRange(loc))
	})

	t.Run("Content-Range whose length overflows", func(t *testing.T) {
		fresh := tr.startUpload("r")
		req := httptest.NewRequest(http.MethodPatch, fresh, strings.NewReader("def"))
		req.ContentLength = -1
		req.Header.Set("Content-Range", "0-9223372036854775807")
		requireError(t, tr.serve(req), http.StatusBadRequest, CodeBlobUploadInvalid)
		assert.Equal(t, "0-0", tr.uploadRange(fresh))
	})

	tr.patchChunk(loc, 3, []byte("def"))
	assert.Equal(t, "0-5", tr.uploadRange(loc))
}

func TestMount(t *testing.T) { onEngines(t, testMount) }

func testMount(t *testing.T) {
	content := []byte("mountable layer")
	d := digest.FromBytes(content)
	tests := []struct {
		name    string
		opts    []Option
		query   string
		mounted bool
	}{
		{"from a repository holding it", nil, "?mount=" + d.String() + "&from=src", true},
		{"from a repository lacking it", nil, "?mount=" + d.String() + "&from=other", false},
		{"from a repository that does not exist", nil, "?mount=" + d.String() + "&from=nowhere", false},
		{"anonymous", nil, "?mount=" + d.String(), true},
		{"anonymous refused", []Option{WithoutAnonymousMount()}, "?mount=" + d.String(), false},
		{"unknown digest", nil, "?mount=" + digest.FromString("nope").String() + "&from=src", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t, tt.opts...)
			tr.pushBlob("src", content)
			tr.pushBlob("other", []byte("unrelated"))

			r := tr.do(http.MethodPost, "/v2/dst/blobs/uploads/"+tt.query, nil, nil)
			if !tt.mounted {
				require.Equal(t, http.StatusAccepted, r.Status, "body: %s", r.Body)
				loc := r.Header.Get("Location")
				require.True(t, strings.HasPrefix(loc, "/v2/dst/blobs/uploads/"), loc)
				assert.Equal(t, "0-0", tr.uploadRange(loc))
				tr.requireNoBlob("dst", d)
				return
			}
			require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
			assert.Equal(t, "/v2/dst/blobs/"+d.String(), r.Header.Get("Location"))
			assert.Equal(t, d.String(), r.Header.Get("Docker-Content-Digest"))
			r = tr.do(http.MethodGet, "/v2/dst/blobs/"+d.String(), nil, nil)
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, content, r.Body)
		})
	}
}

func TestMountBadInput(t *testing.T) { onEngines(t, testMountBadInput) }

func testMountBadInput(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.pushBlob("src", []byte("x"))
	requireError(t, tr.do(http.MethodPost, "/v2/dst/blobs/uploads/?mount=sha256:bad&from=src", nil, nil),
		http.StatusBadRequest, CodeDigestInvalid)
	requireError(t, tr.do(http.MethodPost, "/v2/dst/blobs/uploads/?mount="+d.String()+"&from=Bad/..", nil, nil),
		http.StatusBadRequest, CodeNameInvalid)
	tr.requireNoBlob("dst", d)
}
