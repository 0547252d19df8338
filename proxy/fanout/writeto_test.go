package fanout_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/proxy/fanout"
)

// WriteTo (what io.Copy uses, and so an HTTP handler) gives the same
// bytes as Read while the fill goes on, through a socket as into memory,
// and ends in the fill's error after the bytes that arrived.
func TestWriteToStreamsAsReadDoes(t *testing.T) {
	data := randomBytes(3<<20 + 17)
	up := newUpstream(data)
	up.pauseAt = 1 << 20 // the first reader starts while the fill is midway
	var st store
	g, dir := newGroup(t)

	r, err := g.Open(context.Background(), "blob", up.fetch, st.commit)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = io.Copy(w, r) // WriteTo, to a socket: sendfile
	}))
	defer srv.Close()
	done := make(chan []byte)
	go func() {
		resp, err := http.Get(srv.URL)
		if err != nil {
			done <- nil
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- b
	}()
	close(up.resume)
	require.Equal(t, data, <-done, "over HTTP")
	require.NoError(t, r.Close())

	var buf bytes.Buffer
	r2, err := g.Open(context.Background(), "other", newUpstream(data).fetch, st.commit)
	require.NoError(t, err)
	n, err := r2.WriteTo(&buf)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), n)
	require.Equal(t, data, buf.Bytes(), "into memory")
	require.NoError(t, r2.Close())

	// Opened before the fill ended, read after its spool's name is gone:
	// through the shared handle.
	r4, err := g.Open(context.Background(), "late", newUpstream(data).fetch, st.commit)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		entries, err := os.ReadDir(dir)
		return err == nil && len(entries) == 0
	}, 10*time.Second, time.Millisecond)
	buf.Reset()
	_, err = r4.WriteTo(&buf)
	require.NoError(t, err)
	require.Equal(t, data, buf.Bytes(), "after the spool's name is gone")
	require.NoError(t, r4.Close())

	bad := newUpstream(data[:1<<20])
	bad.size, bad.end = -1, errors.New("digest mismatch")
	r3, err := g.Open(context.Background(), "bad", bad.fetch, st.commit)
	require.NoError(t, err)
	buf.Reset()
	_, err = r3.WriteTo(&buf)
	require.ErrorContains(t, err, "digest mismatch")
	require.Equal(t, data[:1<<20], buf.Bytes(), "the bytes that arrived, then the error")
	require.NoError(t, r3.Close())
	closeGroup(t, g)
}

var _ io.WriterTo = (*fanout.Reader)(nil)
