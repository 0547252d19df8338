package replicate_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/replicate"
)

// TestHostileSource: a source that sends garbage — blobs or manifests
// that do not match their digests, huge manifests, bad JSON — fails the
// copy, and the destination stores nothing of it.
func TestHostileSource(t *testing.T) {
	ctx := context.Background()
	src, dst := newBerth(t), newBerth(t)
	d := push(t, src.host, "evil/app:v1", randomImage(t, 10_000))
	u, err := url.Parse(src.url)
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		tamper  func(r *http.Request, resp *http.Response)
		wantErr string
	}{
		{"blob bytes flipped", func(r *http.Request, resp *http.Response) {
			if strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
				b, _ := io.ReadAll(resp.Body)
				if len(b) > 0 {
					b[len(b)/2] ^= 0xff
				}
				resp.Body = io.NopCloser(bytes.NewReader(b))
			}
		}, "digest"},
		{"manifest replaced", func(r *http.Request, resp *http.Response) {
			if strings.Contains(r.URL.Path, "/manifests/sha256:") && r.Method == http.MethodGet {
				b := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`)
				resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
				resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			}
		}, "digest"},
		{"huge manifest", func(r *http.Request, resp *http.Response) {
			if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet {
				resp.Body, resp.ContentLength = io.NopCloser(io.LimitReader(zeros{}, 64<<20)), -1
				resp.Header.Del("Content-Length")
			}
		}, "limit"},
		{"not JSON", func(r *http.Request, resp *http.Response) {
			if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet {
				resp.Body, resp.ContentLength = io.NopCloser(strings.NewReader("<html>")), 6
				resp.Header.Set("Content-Length", "6")
			}
		}, "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy := httputil.NewSingleHostReverseProxy(u)
			// resp.Request is the proxied request: same method and path.
			proxy.ModifyResponse = func(resp *http.Response) error { tc.tamper(resp.Request, resp); return nil }
			front := httptest.NewServer(proxy)
			defer front.Close()
			cp, err := replicate.NewCopier(&replicate.Endpoint{Name: "evil", URL: front.URL}, dst.endpoint("dst"),
				replicate.WithResumes(1, 10*time.Millisecond))
			require.NoError(t, err)
			dstRepo := "copy/" + strings.ToLower(strings.ReplaceAll(tc.name, " ", "-"))
			ref := d
			if tc.wantErr == "JSON" {
				ref = "v1" // by tag, no digest to check the answer against
			}
			_, err = cp.Copy(ctx, "evil/app", ref, dstRepo, []string{"v1"}, false)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Empty(t, digestAt(t, dst.host, dstRepo+":v1"), "nothing tagged at the destination")
			assert.Empty(t, digestAt(t, dst.host, dstRepo+"@"+d), "no manifest at the destination")
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
