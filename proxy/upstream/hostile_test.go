package upstream_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/proxy/upstream"
)

// hostile is an anonymous upstream whose /v2/ answers 200 and whose other
// routes are handler's; it counts the requests handler sees.
func hostile(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		n.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func serveManifest(body []byte, contentType, headerDigest string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		if headerDigest != "" {
			w.Header().Set("Docker-Content-Digest", headerDigest)
		}
		_, _ = w.Write(body)
	}
}

// TestHostileManifests: what a cache must never store is ErrInvalid,
// with a message that says why.
func TestHostileManifests(t *testing.T) {
	good, goodDigest := ociManifest("good")
	other := digest.FromString("other")
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		ref     string
		says    string
	}{
		{"malformed JSON", serveManifest([]byte(`{"schemaVersion":2,"mediaType":`), ociManifestType, ""), "v1", "not valid JSON"},
		{"not an object", serveManifest([]byte(`["schemaVersion"]`), ociManifestType, ""), "v1", "not a JSON object"},
		{"unknown media type", serveManifest([]byte(`{"schemaVersion":2,"config":{}}`), "text/html", ""), "v1", "unsupported manifest media type"},
		{"schema 1", serveManifest([]byte(`{"schemaVersion":1,"name":"x","tag":"v1","fsLayers":[]}`),
			"application/vnd.docker.distribution.manifest.v1+prettyjws", ""), "v1", "schema 1"},
		{"type disagrees", serveManifest(good, "application/vnd.oci.image.index.v1+json", ""), "v1", "does not match"},
		{"header digest mismatch", serveManifest(good, ociManifestType, other.String()), "v1", other.String()},
		{"digest asked for", serveManifest(good, ociManifestType, ""), other.String(), goodDigest.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := hostile(t, tc.handler)
			_, err := newClient(t, upstream.Endpoint{URL: srv.URL}).Manifest(testContext(t), "app", tc.ref)
			require.ErrorIs(t, err, core.ErrInvalid)
			require.Contains(t, err.Error(), tc.says)
			require.Contains(t, err.Error(), srv.Listener.Addr().String())
		})
	}
}

// TestManifestOverLimit: an endless body is cut at the limit, at once;
// a Content-Length over it is refused without reading.
func TestManifestOverLimit(t *testing.T) {
	var sent atomic.Int64
	endless, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ociManifestType)
		chunk := []byte(strings.Repeat(" ", 32<<10))
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	declared, _ := hostile(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ociManifestType)
		w.Header().Set("Content-Length", fmt.Sprint(1<<30))
		_, _ = w.Write([]byte("{"))
	})
	for _, srv := range []*httptest.Server{endless, declared} {
		c := newClient(t, upstream.Endpoint{URL: srv.URL}, upstream.WithMaxManifestSize(64<<10))
		start := time.Now()
		_, err := c.Manifest(testContext(t), "app", "v1")
		require.ErrorIs(t, err, core.ErrInvalid)
		require.Contains(t, err.Error(), "limit of 65536 bytes")
		require.Less(t, time.Since(start), 2*time.Second)
	}
	require.Less(t, sent.Load(), int64(64<<20), "the client stopped reading (what was sent fits in socket buffers)")
}

// TestErrorStatuses: outages and rate limits are ErrUnavailable with the
// upstream's Retry-After; absence is ErrNotFound; refusals ErrDenied; an
// upstream's error text is echoed short and sanitized.
func TestErrorStatuses(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		status     int
		header     string
		body       string
		kind       error
		retryAfter time.Duration
	}{
		{500, "", "boom", core.ErrUnavailable, 0},
		{502, "", "", core.ErrUnavailable, 0},
		{503, "30", "", core.ErrUnavailable, 30 * time.Second},
		{429, "7", `{"errors":[{"code":"TOOMANYREQUESTS","message":"pull rate limit"}]}`, core.ErrUnavailable, 7 * time.Second},
		{429, date, "", core.ErrUnavailable, 90 * time.Second},
		{404, "", `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, core.ErrNotFound, 0},
		{404, "", "", core.ErrNotFound, 0},
		{400, "", `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}`, core.ErrNotFound, 0},
		{403, "", `{"errors":[{"code":"DENIED","message":"no"}]}`, core.ErrDenied, 0},
		{401, "", "", core.ErrDenied, 0},
		{400, "", `{"errors":[{"code":"NAME_INVALID"}]}`, core.ErrInvalid, 0},
	} {
		t.Run(fmt.Sprint(tc.status, tc.header), func(t *testing.T) {
			srv, _ := hostile(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			_, err := newClient(t, upstream.Endpoint{URL: srv.URL}).Manifest(testContext(t), "app", "v1")
			require.ErrorIs(t, err, tc.kind)
			got, ok := upstream.RetryAfter(err)
			require.Equal(t, tc.retryAfter > 0, ok)
			require.InDelta(t, tc.retryAfter.Seconds(), got.Seconds(), 2)
			require.Contains(t, err.Error(), fmt.Sprint(tc.status))
			require.Contains(t, err.Error(), "manifest app:v1")
		})
	}
}

// TestHostileErrorBody: a huge error body full of control characters
// yields a short, printable message.
func TestHostileErrorBody(t *testing.T) {
	junk := strings.Repeat("\x1b[31mFAKE LOG LINE\n\r\x00", 1<<16)
	srv, _ := hostile(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"` + strings.ReplaceAll(junk, "\x00", "") + `"}]}`))
	})
	_, err := newClient(t, upstream.Endpoint{URL: srv.URL}).Manifest(testContext(t), "app", "v1")
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Less(t, len(err.Error()), 300)
	for _, r := range err.Error() {
		require.True(t, r >= 0x20 && r < 0x7f, "printable: %q", err.Error())
	}
}

// TestNotARegistry: an upstream whose /v2/ is missing is unavailable, not
// a "not found" the cache would pass on.
func TestNotARegistry(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	_, err := newClient(t, upstream.Endpoint{URL: srv.URL}).Manifest(testContext(t), "app", "v1")
	require.ErrorIs(t, err, core.ErrUnavailable)
	require.NotErrorIs(t, err, core.ErrNotFound)
}

// TestInvalidInput: names outside the spec's grammar never reach the
// upstream; a bad endpoint is refused by New.
func TestInvalidInput(t *testing.T) {
	srv, requests := hostile(t, func(http.ResponseWriter, *http.Request) {})
	c := newClient(t, upstream.Endpoint{URL: srv.URL})
	ctx := testContext(t)
	for _, repo := range []string{"../etc", "App", "a//b", "", "a/b?x=1"} {
		_, err := c.Manifest(ctx, repo, "v1")
		require.ErrorIs(t, err, core.ErrInvalid, repo)
	}
	for _, ref := range []string{"../v1", "sha256:abc", "md5:d41d8cd98f00b204e9800998ecf8427e", ""} {
		_, err := c.Head(ctx, "app", ref)
		require.ErrorIs(t, err, core.ErrInvalid, ref)
	}
	_, _, err := c.Blob(ctx, "app", "sha256:nothex")
	require.ErrorIs(t, err, core.ErrInvalid)
	_, err = c.Referrers(ctx, "app", digest.FromString("x"), "not a media type")
	require.ErrorIs(t, err, core.ErrInvalid)
	require.Zero(t, requests.Load())

	for _, u := range []string{"", "ftp://host", "https://", "https://host/path", "https://u:p@host", "host:5000"} {
		_, err := upstream.New(upstream.Endpoint{URL: u})
		require.ErrorIs(t, err, core.ErrInvalid, u)
	}
	_, err = upstream.New(upstream.Endpoint{URL: "https://host", CACert: "not PEM"})
	require.ErrorIs(t, err, core.ErrInvalid)
	_, err = upstream.New(upstream.Endpoint{URL: "https://host"}, upstream.WithTimeout(0))
	require.ErrorIs(t, err, core.ErrInvalid)
}

// TestHeadAnswers: a HEAD answer without what a descriptor needs falls
// back to a verified GET; one that contradicts the digest asked for is
// ErrInvalid.
func TestHeadAnswers(t *testing.T) {
	body, want := ociManifest("head")
	var gets atomic.Int64
	bare, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Type", "application/octet-stream")
			return
		}
		gets.Add(1)
		w.Header().Set("Content-Type", ociManifestType)
		_, _ = w.Write(body)
	})
	d, err := newClient(t, upstream.Endpoint{URL: bare.URL}).Head(testContext(t), "app", "v1")
	require.NoError(t, err)
	require.Equal(t, upstream.Descriptor{Digest: want, MediaType: ociManifestType, Size: int64(len(body))}, d)
	require.Equal(t, int64(1), gets.Load())

	other := digest.FromString("other")
	lying, _ := hostile(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ociManifestType)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Header().Set("Docker-Content-Digest", other.String())
	})
	_, err = newClient(t, upstream.Endpoint{URL: lying.URL}).Head(testContext(t), "app", want.String())
	require.ErrorIs(t, err, core.ErrInvalid)
	require.Contains(t, err.Error(), other.String())
}
