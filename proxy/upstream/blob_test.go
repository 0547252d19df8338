package upstream_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/proxy/upstream"
)

// readAll reads like a streaming consumer and reports whether it ever
// saw io.EOF, and the first other error.
func readAll(r io.Reader) (b []byte, sawEOF bool, err error) {
	buf := make([]byte, 7)
	for {
		n, rerr := r.Read(buf)
		b = append(b, buf[:n]...)
		if rerr == io.EOF {
			return b, true, nil
		}
		if rerr != nil {
			return b, false, rerr
		}
	}
}

// TestBlobWrongBytes: bytes that do not hash to the digest end in
// ErrInvalid, never io.EOF.
func TestBlobWrongBytes(t *testing.T) {
	want := digest.FromString("the real layer")
	srv, _ := hostile(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("a fake layer!!")) })
	rc, size, err := newClient(t, upstream.Endpoint{URL: srv.URL}).Blob(testContext(t), "app", want)
	require.NoError(t, err)
	defer rc.Close()
	require.Equal(t, int64(14), size)
	_, sawEOF, err := readAll(rc)
	require.False(t, sawEOF)
	require.ErrorIs(t, err, core.ErrInvalid)
	require.Contains(t, err.Error(), "digest mismatch")
	_, again := rc.Read(make([]byte, 1))
	require.Equal(t, err, again, "the failure sticks")
}

// TestBlobLongerThanContentLength: bytes past the declared length are an
// error, whether the HTTP stack cuts them (digest no longer matches) or a
// transport hands them on.
func TestBlobLongerThanContentLength(t *testing.T) {
	content := []byte("0123456789abcdefghij")
	full := digest.FromBytes(content)
	srv, _ := hostile(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n%s", content)
		_ = buf.Flush()
	})
	_, _, err := readBlob(t, newClient(t, upstream.Endpoint{URL: srv.URL}), "app", full)
	require.ErrorIs(t, err, core.ErrInvalid)

	first10 := digest.FromBytes(content[:10])
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		body := []byte("{}")
		if req.URL.Path != "/v2/" {
			body = content
		}
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: 10, Request: req}, nil
	})
	got, _, err := readBlob(t, newClient(t, upstream.Endpoint{URL: "https://registry.example", Transport: rt}), "app", first10)
	require.ErrorIs(t, err, core.ErrInvalid)
	require.Contains(t, err.Error(), "Content-Length of 10")
	require.Equal(t, content[:10], got, "nothing past Content-Length is handed on")
}

func scan(s, format string, n *int) bool {
	_, err := fmt.Sscanf(s, format, n)
	return err == nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestBlobRedirects: blob storage behind redirects is followed (up to 5
// hops) without the upstream's credentials; loops and longer chains are
// ErrInvalid.
func TestBlobRedirects(t *testing.T) {
	content := []byte("layer bytes in blob storage")
	d := digest.FromBytes(content)
	var mu sync.Mutex
	var storageAuth []string
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		storageAuth = append(storageAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = w.Write(content)
	}))
	t.Cleanup(storage.Close)
	var registryAuth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		registryAuth = append(registryAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != "proxy" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// /v2/hopsN/blobs/<d> takes N redirects to blob storage, through
		// /hop/N-1 ... /hop/1; /v2/loop/blobs/<d> goes round /loop.
		toStorage := storage.URL + "/bucket/" + d.Encoded()
		var n int
		switch {
		case r.URL.Path == "/v2/":
		case r.URL.Path == "/v2/app/blobs/"+d.String():
			http.Redirect(w, r, toStorage, http.StatusTemporaryRedirect)
		case r.URL.Path == "/v2/loop/blobs/"+d.String() || r.URL.Path == "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case scan(r.URL.Path, "/v2/hops%d/blobs/", &n):
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusTemporaryRedirect)
		case scan(r.URL.Path, "/hop/%d", &n) && n > 1:
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusTemporaryRedirect)
		case scan(r.URL.Path, "/hop/%d", &n):
			http.Redirect(w, r, toStorage, http.StatusTemporaryRedirect)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, upstream.Endpoint{URL: srv.URL, Username: "proxy", Password: "pw"})

	got, size, err := readBlob(t, c, "app", d)
	require.NoError(t, err)
	require.Equal(t, content, got)
	require.Equal(t, int64(len(content)), size)
	mu.Lock()
	require.Equal(t, []string{""}, storageAuth, "blob storage never sees the upstream's credentials")
	require.NotEmpty(t, registryAuth[len(registryAuth)-1], "while the upstream does")
	mu.Unlock()

	_, _, err = readBlob(t, c, "hops5", d)
	require.NoError(t, err, "five redirects are followed")
	_, _, err = c.Blob(testContext(t), "hops6", d)
	require.ErrorIs(t, err, core.ErrInvalid)
	require.Contains(t, err.Error(), "more than 5 redirects")
	_, _, err = c.Blob(testContext(t), "loop", d)
	require.ErrorIs(t, err, core.ErrInvalid)
	require.Contains(t, err.Error(), "redirect loop")
}

// stall answers headers (and a first bytes of body) and then waits until
// the client hangs up: a slowloris upstream.
func stall(headers bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if headers {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte("0123456789"))
			http.NewResponseController(w).Flush()
		}
		<-r.Context().Done()
	}
}

// TestSlowloris: headers or a body that stall longer than the timeout
// fail as ErrUnavailable within about the timeout.
func TestSlowloris(t *testing.T) {
	const timeout = 300 * time.Millisecond
	d := digest.FromString("x")

	slowHeaders, _ := hostile(t, stall(false))
	c := newClient(t, upstream.Endpoint{URL: slowHeaders.URL}, upstream.WithTimeout(timeout))
	start := time.Now()
	_, err := c.Manifest(testContext(t), "app", "v1")
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.Contains(t, err.Error(), "no response within 300ms")
	require.Less(t, time.Since(start), 2*time.Second)

	slowBody, _ := hostile(t, stall(true))
	c = newClient(t, upstream.Endpoint{URL: slowBody.URL}, upstream.WithTimeout(timeout))
	start = time.Now()
	rc, _, err := c.Blob(testContext(t), "app", d)
	require.NoError(t, err)
	defer rc.Close()
	got, sawEOF, err := readAll(rc)
	require.False(t, sawEOF)
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.Contains(t, err.Error(), "stalled")
	require.Equal(t, []byte("0123456789"), got)
	require.Less(t, time.Since(start), 2*time.Second)

	start = time.Now()
	_, err = c.Manifest(testContext(t), "app", "v1")
	require.ErrorIs(t, err, core.ErrUnavailable, "a manifest body that stalls too")
	require.Less(t, time.Since(start), 2*time.Second)
}

// TestCancel: cancelling the caller's context ends a blocked read at once
// with context.Canceled, which is no upstream failure.
func TestCancel(t *testing.T) {
	srv, _ := hostile(t, stall(true))
	c := newClient(t, upstream.Endpoint{URL: srv.URL}, upstream.WithTimeout(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	rc, _, err := c.Blob(ctx, "app", digest.FromString("x"))
	require.NoError(t, err)
	defer rc.Close()
	done := make(chan error, 1)
	go func() { _, _, err := readAll(rc); done <- err }()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, core.ErrUnavailable)
	case <-time.After(5 * time.Second):
		t.Fatal("the read did not stop when the context was cancelled")
	}
}

// TestMaxConcurrent: a call over the limit fails at once with a retry
// hint; a blob holds its slot until its reader is closed.
func TestMaxConcurrent(t *testing.T) {
	content := []byte("blob")
	srv, _ := hostile(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(content) })
	c := newClient(t, upstream.Endpoint{URL: srv.URL}, upstream.WithMaxConcurrent(1))
	ctx := testContext(t)
	rc, _, err := c.Blob(ctx, "app", digest.FromBytes(content))
	require.NoError(t, err)

	start := time.Now()
	_, err = c.Manifest(ctx, "app", "v1")
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.ErrorIs(t, err, upstream.ErrBusy, "the client's own limit, not the upstream's")
	require.Less(t, time.Since(start), 100*time.Millisecond, "refused at once")
	after, ok := upstream.RetryAfter(err)
	require.True(t, ok)
	require.Equal(t, time.Second, after)

	require.NoError(t, rc.Close())
	got, _, err := readBlob(t, c, "app", digest.FromBytes(content))
	require.NoError(t, err, "the slot is free again")
	require.Equal(t, content, got)
}

// TestBandwidth: blob bytes arrive no faster than the limit.
func TestBandwidth(t *testing.T) {
	content := bytes.Repeat([]byte("x"), 48<<10)
	srv, _ := hostile(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(content) })
	c := newClient(t, upstream.Endpoint{URL: srv.URL}, upstream.WithBandwidth(64<<10))
	start := time.Now()
	got, _, err := readBlob(t, c, "app", digest.FromBytes(content))
	require.NoError(t, err)
	require.Equal(t, content, got)
	require.GreaterOrEqual(t, time.Since(start), 700*time.Millisecond, "48 KiB at 64 KiB/s take 0.75 s")
}

// TestBlobCutShort: a body that ends before its Content-Length is an
// interrupted transfer (ErrUnavailable, try again), never io.EOF.
func TestBlobCutShort(t *testing.T) {
	content := []byte("0123456789abcdefghij")
	srv, _ := hostile(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n%s", content[:10])
		_ = buf.Flush()
	})
	rc, size, err := newClient(t, upstream.Endpoint{URL: srv.URL}).Blob(testContext(t), "app", digest.FromBytes(content))
	require.NoError(t, err)
	defer rc.Close()
	require.Equal(t, int64(20), size)
	got, sawEOF, err := readAll(rc)
	require.False(t, sawEOF)
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.Contains(t, err.Error(), "cut after 10 of 20 bytes")
	require.Equal(t, content[:10], got)
}
