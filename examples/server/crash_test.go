package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash tests SIGKILL the server in the middle of writes and restart it
// on the same data directory: what was acknowledged must be there, nothing
// else may be visible, and the check subcommand must find the store
// consistent.

const chunkSize = 4 << 20

// A chunked upload killed while its 4th chunk streams resumes at the end of
// the 3rd, the last acknowledged offset; the blob is unreadable until the
// final PUT and then has exactly the pushed bytes.
func TestCrashDuringChunkedUpload(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	const repo = "crash/chunked"
	content := randomBytes(4 * chunkSize)
	full := digest.FromBytes(content)
	acked := int64(3 * chunkSize)

	s := startServer(t, data)
	loc := s.startUpload(repo)
	id := path.Base(loc)
	for i := range 3 {
		r := s.patchChunk(loc, content, i)
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
		require.Equal(t, rangeTo(int64(i+1)*chunkSize), r.header.Get("Range"))
	}

	// Stream the 4th chunk through a pipe, and kill the server once it has
	// written part of it to the session's data file.
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, s.URL+loc, pr)
	require.NoError(t, err)
	req.ContentLength = chunkSize
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", contentRange(3))
	patchErr := make(chan error, 1)
	go func() {
		resp, err := s.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		patchErr <- err
	}()
	go func() {
		// Three quarters of the chunk; the write ends when the pipe is closed.
		_, _ = pw.Write(content[acked : acked+3*chunkSize/4])
	}()
	dataFile := filepath.Join(data, "storage", "uploads", id, "data")
	waitFor(t, time.Minute, "the server writes part of the 4th chunk to "+dataFile, func() bool {
		fi, err := os.Stat(dataFile)
		return err == nil && fi.Size() > acked
	})
	s.requireNoBlob(repo, full) // while the chunk streams
	s.kill()
	_ = pw.CloseWithError(errors.New("server killed"))
	select {
	case err := <-patchErr:
		require.Error(t, err, "the killed PATCH must get no answer")
	case <-time.After(exitTimeout):
		t.Fatal("the killed PATCH did not end")
	}
	fi, err := os.Stat(dataFile)
	require.NoError(t, err)
	require.Greater(t, fi.Size(), acked, "the crash left unacknowledged bytes in the session")

	s = startServer(t, data)
	s.requireNoBlob(repo, full)
	s.requireNoBlob(repo, digest.FromBytes(content[:acked]))
	r := s.do(http.MethodGet, loc, nil)
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	require.Equal(t, rangeTo(acked), r.header.Get("Range"), "resumes at the last acknowledged offset")
	require.Equal(t, id, r.header.Get("Docker-Upload-UUID"))

	// A retry of an acknowledged chunk is out of order.
	r = s.patchChunk(loc, content, 2)
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, r.status, string(r.body))
	require.Equal(t, rangeTo(acked), r.header.Get("Range"))

	r = s.patchChunk(loc, content, 3)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	require.Equal(t, rangeTo(4*chunkSize), r.header.Get("Range"))
	s.requireNoBlob(repo, full) // complete but not committed

	r = s.do(http.MethodPut, withQuery(loc, "digest", full.String()), nil)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	require.Equal(t, full.String(), r.header.Get("Docker-Content-Digest"))
	s.requireBlob(repo, full, content)
	r = s.do(http.MethodHead, "/v2/"+repo+"/blobs/"+full.String(), nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, strconv.Itoa(len(content)), r.header.Get("Content-Length"))
	_, err = os.Stat(filepath.Dir(dataFile))
	require.ErrorIs(t, err, os.ErrNotExist, "the committed session is gone")

	s.stop()
	code, out := runCheck(t, data)
	require.Equal(t, 0, code, out)
	require.Equal(t, 1, checkCount(t, out, "blobs"))
	require.Equal(t, 1, checkCount(t, out, "blob links"))
}

// A manifest PUT killed halfway through its body stores nothing; manifests
// and blobs acknowledged just before a SIGKILL survive it; the check finds
// the store consistent, and finds a corrupted blob.
func TestCrashDuringManifestPut(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	const repo = "crash/manifest"
	config, layer := imageConfig("amd64"), randomBytes(256<<10)
	manifest := imageManifest(t, config, layer)
	md := digest.FromBytes(manifest)

	s := startServer(t, data)
	s.pushBlob(repo, config)
	layerDigest := s.pushBlob(repo, layer)

	// Half of the body, on a raw connection so that it surely leaves the
	// client (net/http buffers small request bodies).
	conn, err := net.DialTimeout("tcp", s.addr, exitTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "PUT /v2/%s/manifests/v1 HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		repo, s.addr, manifestType, len(manifest))
	require.NoError(t, err)
	_, err = conn.Write(manifest[:len(manifest)/2])
	require.NoError(t, err)
	s.requireNoManifest(repo, "v1") // while the body is half sent
	s.kill()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(exitTimeout)))
	n, err := conn.Read(make([]byte, 512))
	require.Error(t, err)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the connection must die with the server")
	require.Zero(t, n, "no response to the killed PUT")

	s = startServer(t, data)
	s.requireNoManifest(repo, "v1")
	s.requireNoManifest(repo, md.String())
	require.NotContains(t, s.tags(repo), "v1")

	r := s.putManifest(repo, "v1", manifest)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	require.Equal(t, md.String(), r.header.Get("Docker-Content-Digest"))
	s.requireManifest(repo, "v1", manifest)
	s.requireManifest(repo, md.String(), manifest)

	// SIGKILL right after acknowledged writes: a blob, then a manifest.
	layer2 := randomBytes(128 << 10)
	layer2Digest := s.pushBlob(repo, layer2)
	s.kill()
	s = startServer(t, data)
	s.requireBlob(repo, layer2Digest, layer2)
	manifest2 := imageManifest(t, config, layer2)
	r = s.putManifest(repo, "v2", manifest2)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	s.kill()

	s = startServer(t, data)
	s.requireManifest(repo, "v2", manifest2)
	s.requireManifest(repo, digest.FromBytes(manifest2).String(), manifest2)
	s.requireManifest(repo, "v1", manifest)
	require.ElementsMatch(t, []string{"v1", "v2"}, s.tags(repo))
	s.requireBlob(repo, layerDigest, layer)
	s.stop()

	code, out := runCheck(t, data)
	require.Equal(t, 0, code, out)
	assert.Equal(t, 2, checkCount(t, out, "manifests"))
	assert.Equal(t, 2, checkCount(t, out, "tags"))
	assert.GreaterOrEqual(t, checkCount(t, out, "blobs"), 3, "config and two layers")
	assert.GreaterOrEqual(t, checkCount(t, out, "blob links"), 3)
	assert.Regexp(t, `(?m)^OK$`, out)

	// Flip one byte of a stored layer: check must fail and name it.
	enc := layerDigest.Encoded()
	blobFile := filepath.Join(data, "storage", "blobs", string(layerDigest.Algorithm()), enc[:2], enc)
	b, err := os.ReadFile(blobFile)
	require.NoError(t, err)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(blobFile, b, 0o640))
	code, out = runCheck(t, data)
	require.Equal(t, 1, code, out)
	assert.Contains(t, out, layerDigest.String())
	assert.NotContains(t, out, layer2Digest.String(), "only the corrupted blob is reported")
	assert.Regexp(t, `(?m)^FAILED`, out)
}

// The check refuses what is not a data directory, and bad usage.
func TestCheckUsage(t *testing.T) {
	t.Parallel()
	code, out := runCheck(t, filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	code, _ = runCheck(t, t.TempDir(), "extra-argument")
	assert.Equal(t, 2, code)
	code, _ = runCheck(t, t.TempDir(), "-no-such-flag")
	assert.Equal(t, 2, code)
}

// patchChunk sends chunk i of content to an upload session.
func (s *serverProc) patchChunk(loc string, content []byte, i int) response {
	s.t.Helper()
	return s.do(http.MethodPatch, loc, content[i*chunkSize:(i+1)*chunkSize],
		"Content-Type", "application/octet-stream", "Content-Range", contentRange(i))
}

func contentRange(i int) string {
	return fmt.Sprintf("%d-%d", i*chunkSize, (i+1)*chunkSize-1)
}

// rangeTo is the Range header of a session holding n bytes.
func rangeTo(n int64) string { return "0-" + strconv.FormatInt(n-1, 10) }

// checkCount reads a count from the check's report, such as "  blobs: 3".
func checkCount(t *testing.T, out, name string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `:\s+(\d+)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no %q count in the check report", name)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}
