package adapter_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/adapter"
)

var findings = []scan.Vulnerability{
	{ID: "CVE-2024-0001", Package: "openssl", Version: "3.0.1", FixVersion: "3.0.2", Severity: scan.Critical,
		Title: "overflow", PURL: "pkg:deb/debian/openssl@3.0.1", Description: "a bad one",
		Links: []string{"https://nvd.nist.gov/vuln/detail/CVE-2024-0001"},
		CVSS:  &scan.CVSS{ScoreV3: 9.8, VectorV3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, CWEIDs: []string{"CWE-787"},
		Layer: &scan.Layer{Digest: digest.FromString("layer"), DiffID: digest.FromString("diff")}},
	{ID: "CVE-2024-0002", Package: "zlib", Version: "1.2", Severity: scan.Medium},
}

// exchange is one recorded request and answer.
type exchange struct {
	method, path, accept, reqType, respType string
	status                                  int
	reqBody, respBody                       []byte
	header                                  http.Header
}

// recorder wraps a handler and keeps every exchange.
type recorder struct {
	h  http.Handler
	mu sync.Mutex
	ex []exchange
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rw := httptest.NewRecorder()
	rc.h.ServeHTTP(rw, r)
	rc.mu.Lock()
	rc.ex = append(rc.ex, exchange{method: r.Method, path: r.URL.Path, accept: r.Header.Get("Accept"),
		reqType: r.Header.Get("Content-Type"), respType: rw.Header().Get("Content-Type"), status: rw.Code,
		reqBody: body, respBody: rw.Body.Bytes(), header: rw.Header().Clone()})
	rc.mu.Unlock()
	for k, v := range rw.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.Code)
	_, _ = w.Write(rw.Body.Bytes())
}

func (rc *recorder) all() []exchange {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]exchange(nil), rc.ex...)
}

// slowScanner returns findings after release is closed.
func slowScanner(release chan struct{}) *scan.Static {
	return &scan.Static{Info: scan.ScannerInfo{Name: "static", Vendor: "berth", Version: "1.0"},
		DBVersion: "2025-02-03T04:05:06Z", Vulnerabilities: findings,
		Check: func(ctx context.Context, _ scan.Request) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
}

func TestClientAgainstServer(t *testing.T) {
	spec := loadSpec(t)
	for _, tc := range []struct {
		name, mime string
		v11        bool
	}{
		{"report 1.0", adapter.ReportMIME10, false},
		{"report 1.1", adapter.ReportMIME11, true},
		{"negotiated", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			sc := slowScanner(release)
			rec := &recorder{h: adapter.NewServer(sc, adapter.WithSBOM(scan.StaticSBOM{}))}
			srv := httptest.NewServer(rec)
			defer srv.Close()

			opts := []adapter.ClientOption{adapter.WithPollBounds(5*time.Millisecond, 20*time.Millisecond)}
			if tc.mime != "" {
				opts = append(opts, adapter.WithReportMIME(tc.mime))
			}
			c, err := adapter.NewClient(srv.URL, opts...)
			require.NoError(t, err)
			md, err := c.Metadata(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "static", md.Scanner.Name)
			assert.Contains(t, md.Produces, adapter.ReportMIME11)
			assert.Equal(t, "2025-02-03T04:05:06Z", md.Properties[adapter.PropDBUpdatedAt])

			art := scan.Artifact{Repository: "library/app", Digest: digest.FromString("manifest"),
				MediaType: "application/vnd.oci.image.manifest.v1+json"}
			go func() {
				// Let the client poll a few times before the report is ready.
				time.Sleep(60 * time.Millisecond)
				close(release)
			}()
			r, err := c.Scan(context.Background(), scan.Request{Artifact: art,
				Source: scan.Source{Registry: "registry.example:5000", Insecure: true, Authorization: "Basic cm9ib3Q6c2VjcmV0"}})
			require.NoError(t, err)

			// What the scanner behind the server was asked.
			calls := sc.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, art, calls[0].Artifact)
			assert.Equal(t, "registry.example:5000", calls[0].Source.Registry)
			assert.True(t, calls[0].Source.Insecure)
			assert.Equal(t, "Basic cm9ib3Q6c2VjcmV0", calls[0].Source.Authorization)

			// What came back.
			assert.Equal(t, art, r.Artifact)
			assert.Equal(t, "static", r.Scanner.Name)
			assert.Equal(t, "2025-02-03T04:05:06Z", r.DBVersion)
			assert.Equal(t, scan.Critical, r.Severity)
			require.Len(t, r.Vulnerabilities, 2)
			v := r.Vulnerabilities[0]
			assert.Equal(t, "CVE-2024-0001", v.ID)
			assert.Equal(t, "3.0.2", v.FixVersion)
			assert.Equal(t, scan.Critical, v.Severity)
			assert.Equal(t, findings[0].Links, v.Links)
			assert.Equal(t, findings[0].Layer, v.Layer)
			if tc.v11 {
				assert.Equal(t, findings[0].CVSS, v.CVSS)
				assert.Equal(t, []string{"CWE-787"}, v.CWEIDs)
				assert.Equal(t, "overflow", v.Title)
				assert.Equal(t, findings[0].PURL, v.PURL)
			} else {
				assert.Nil(t, v.CVSS, "version 1.0 reports carry no CVSS")
			}

			// Every exchange, both directions, matches the published schemas.
			want := tc.mime
			if want == "" {
				want = adapter.ReportMIME11
			}
			var polled, found int
			for _, ex := range rec.all() {
				switch {
				case ex.path == "/api/v1/metadata":
					assert.Equal(t, http.StatusOK, ex.status)
					assert.True(t, strings.HasPrefix(ex.respType, "application/vnd.scanner.adapter.metadata+json"), ex.respType)
					spec.check(t, "ScannerAdapterMetadata", ex.respBody)
				case ex.method == http.MethodPost:
					assert.Equal(t, http.StatusAccepted, ex.status)
					assert.Contains(t, ex.reqType, "application/vnd.scanner.adapter.scan.request+json")
					spec.check(t, "ScanRequest", ex.reqBody)
					assert.Equal(t, adapter.ScanResponseMIME, ex.respType)
					spec.check(t, "ScanResponse", ex.respBody)
					assert.Contains(t, string(ex.reqBody), `"url":"http://registry.example:5000"`)
				case strings.HasSuffix(ex.path, "/report"):
					polled++
					assert.Equal(t, want, ex.accept)
					if ex.status == http.StatusFound {
						found++
						assert.Equal(t, "1", ex.header.Get("Refresh-After"))
						continue
					}
					require.Equal(t, http.StatusOK, ex.status, "%s", ex.respBody)
					assert.Equal(t, want, ex.respType)
					spec.check(t, "HarborVulnerabilityReport", ex.respBody)
				}
			}
			assert.GreaterOrEqual(t, found, 1, "the client followed at least one 302")
			assert.Equal(t, found+1, polled)
		})
	}
}

func TestServerSBOMCapability(t *testing.T) {
	spec := loadSpec(t)
	release := make(chan struct{})
	close(release)
	srv := httptest.NewServer(adapter.NewServer(slowScanner(release), adapter.WithSBOM(scan.StaticSBOM{})))
	defer srv.Close()
	body := `{"registry":{"url":"http://r:5000"},"artifact":{"repository":"a/b","digest":"` + digest.FromString("m").String() + `"},
		"enabled_capabilities":[{"type":"sbom","produces_mime_types":["` + adapter.SBOMReportMIME + `"],"parameters":{"sbom_media_types":["application/spdx+json"]}}]}`
	spec.check(t, "ScanRequest", []byte(body))
	resp := post(t, srv.URL+"/api/v1/scan", adapter.ScanRequestMIME11, body)
	require.Equal(t, http.StatusAccepted, resp.status, resp.body)
	id, err := adapter.ParseScanResponse([]byte(resp.body))
	require.NoError(t, err)

	var got reply
	require.Eventually(t, func() bool {
		got = get(t, srv.URL+"/api/v1/scan/"+id+"/report?sbom_media_type=application/spdx%2Bjson", adapter.SBOMReportMIME)
		return got.status != http.StatusFound
	}, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, http.StatusOK, got.status, got.body)
	spec.check(t, "HarborSbomReport", []byte(got.body))
	assert.Contains(t, got.body, `"spdxVersion":"SPDX-2.3"`)

	bad := get(t, srv.URL+"/api/v1/scan/"+id+"/report", adapter.SBOMReportMIME)
	assert.Equal(t, http.StatusBadRequest, bad.status, "sbom_media_type is required")
	spec.check(t, "ErrorResponse", []byte(bad.body))
}

type reply struct {
	status int
	ctype  string
	body   string
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func post(t *testing.T, url, ctype, body string) reply {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return do(t, req)
}

func get(t *testing.T, url, accept string) reply {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return do(t, req)
}

// Bad requests get the spec's statuses and error shape.
func TestServerRefusesBadRequests(t *testing.T) {
	spec := loadSpec(t)
	release := make(chan struct{})
	close(release)
	srv := httptest.NewServer(adapter.NewServer(slowScanner(release)))
	defer srv.Close()
	dg := digest.FromString("m").String()
	good := func(mod string) string {
		return strings.Replace(`{"registry":{"url":"http://r:5000"},"artifact":{"repository":"a/b","digest":"`+dg+`"}}`, "XX", mod, 1)
	}
	for _, tc := range []struct {
		name, ctype, body string
		status            int
	}{
		{"not JSON", adapter.ScanRequestMIME10, `{"registry":`, http.StatusBadRequest},
		{"wrong types", adapter.ScanRequestMIME10, `{"registry":{"url":5},"artifact":[]}`, http.StatusBadRequest},
		{"trailing data", adapter.ScanRequestMIME10, good("") + `{}`, http.StatusBadRequest},
		{"wrong content type", "text/plain", good(""), http.StatusBadRequest},
		{"too large", adapter.ScanRequestMIME10, `{"registry":{"url":"` + strings.Repeat("a", 100<<10) + `"}}`, http.StatusBadRequest},
		{"no registry URL", adapter.ScanRequestMIME10, `{"artifact":{"repository":"a/b","digest":"` + dg + `"}}`, http.StatusUnprocessableEntity},
		{"registry URL with path", adapter.ScanRequestMIME10, `{"registry":{"url":"http://r/x"},"artifact":{"repository":"a/b","digest":"` + dg + `"}}`, http.StatusUnprocessableEntity},
		{"bad digest", adapter.ScanRequestMIME10, `{"registry":{"url":"http://r"},"artifact":{"repository":"a/b","digest":"sha256:xyz"}}`, http.StatusUnprocessableEntity},
		{"no repository", adapter.ScanRequestMIME10, `{"registry":{"url":"http://r"},"artifact":{"digest":"` + dg + `"}}`, http.StatusUnprocessableEntity},
		{"unsupported artifact", adapter.ScanRequestMIME10, `{"registry":{"url":"http://r"},"artifact":{"repository":"a","digest":"` + dg + `","mime_type":"application/vnd.cncf.helm.config.v1+json"}}`, http.StatusUnprocessableEntity},
		{"no sbom capability", adapter.ScanRequestMIME11, `{"registry":{"url":"http://r"},"artifact":{"repository":"a","digest":"` + dg + `"},"enabled_capabilities":[{"type":"sbom"}]}`, http.StatusNotImplemented},
		{"unknown report type", adapter.ScanRequestMIME11, `{"registry":{"url":"http://r"},"artifact":{"repository":"a","digest":"` + dg + `"},"enabled_capabilities":[{"type":"vulnerability","produces_mime_types":["application/x-magic"]}]}`, http.StatusNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, srv.URL+"/api/v1/scan", tc.ctype, tc.body)
			assert.Equal(t, tc.status, r.status, r.body)
			assert.Equal(t, adapter.ErrorMIME, r.ctype)
			spec.check(t, "ErrorResponse", []byte(r.body))
			assert.Contains(t, r.body, `"message":"`)
		})
	}

	r := get(t, srv.URL+"/api/v1/scan/nope/report", adapter.ReportMIME11)
	assert.Equal(t, http.StatusNotFound, r.status)
	r = get(t, srv.URL+"/api/v1/nothing", "")
	assert.Equal(t, http.StatusNotFound, r.status)

	ok := post(t, srv.URL+"/api/v1/scan", "", good(""))
	require.Equal(t, http.StatusAccepted, ok.status, ok.body)
	id, err := adapter.ParseScanResponse([]byte(ok.body))
	require.NoError(t, err)
	r = get(t, srv.URL+"/api/v1/scan/"+id+"/report", "application/x-unknown")
	assert.Equal(t, http.StatusNotImplemented, r.status)
	spec.check(t, "ErrorResponse", []byte(r.body))
}

func TestServerAuthAndFailures(t *testing.T) {
	spec := loadSpec(t)
	sc := &scan.Static{Err: errors.New("vulnerability database missing")}
	srv := httptest.NewServer(adapter.NewServer(sc, adapter.WithAuthorizer(adapter.RequireToken("s3cret"))))
	defer srv.Close()

	c, err := adapter.NewClient(srv.URL, adapter.WithPollBounds(5*time.Millisecond, 20*time.Millisecond))
	require.NoError(t, err)
	_, err = c.Metadata(context.Background())
	var ae *adapter.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnauthorized, ae.Status)

	for _, auth := range []string{scan.AuthBearer, scan.AuthAPIKey} {
		c, err = adapter.NewClient(srv.URL+"/api/v1", adapter.WithAuth(auth, "s3cret"),
			adapter.WithPollBounds(5*time.Millisecond, 20*time.Millisecond))
		require.NoError(t, err)
		_, err = c.Metadata(context.Background())
		require.NoError(t, err, auth)
	}
	_, err = c.Scan(context.Background(), scan.Request{Artifact: scan.Artifact{Repository: "a/b", Digest: digest.FromString("x")},
		Source: scan.Source{Registry: "r"}})
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusInternalServerError, ae.Status)
	assert.Contains(t, ae.Message, "vulnerability database missing")

	// The raw report of a failed scan is a spec-shaped 500 as well.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/metadata", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	r := do(t, req)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	spec.check(t, "ErrorResponse", []byte(r.body))
}

// A scan that never finishes ends with the caller's context.
func TestClientHonoursContext(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv := httptest.NewServer(adapter.NewServer(slowScanner(block)))
	defer srv.Close()
	c, err := adapter.NewClient(srv.URL, adapter.WithPollBounds(5*time.Millisecond, 10*time.Millisecond))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.Scan(ctx, scan.Request{Artifact: scan.Artifact{Repository: "a/b", Digest: digest.FromString("x")},
		Source: scan.Source{Registry: "r"}})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestClientRefusesOversizedReport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/metadata"):
			_, _ = w.Write([]byte(`{"scanner":{"name":"x"},"capabilities":[{"consumes_mime_types":[],"produces_mime_types":[]}]}`))
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"id":"1"}`))
		default:
			_, _ = w.Write([]byte(`{"vulnerabilities":[` + strings.Repeat(`{"id":"CVE-1"},`, 1000) + `{"id":"CVE-2"}]}`))
		}
	}))
	defer srv.Close()
	c, err := adapter.NewClient(srv.URL, adapter.WithMaxReport(1000))
	require.NoError(t, err)
	_, err = c.Scan(context.Background(), scan.Request{Artifact: scan.Artifact{Repository: "a", Digest: digest.FromString("x")}})
	assert.ErrorContains(t, err, "larger than 1000 bytes")
}

// The client writes SBOMs through an adapter's sbom capability, and says
// so when the adapter has none.
func TestClientSBOM(t *testing.T) {
	release := make(chan struct{})
	close(release)
	srv := httptest.NewServer(adapter.NewServer(slowScanner(release), adapter.WithSBOM(scan.StaticSBOM{})))
	defer srv.Close()
	c, err := adapter.NewClient(srv.URL, adapter.WithPollBounds(5*time.Millisecond, 20*time.Millisecond))
	require.NoError(t, err)
	req := scan.Request{Artifact: scan.Artifact{Repository: "a/b", Digest: digest.FromString("m")}, Source: scan.Source{Registry: "r"}}
	for _, f := range []string{scan.SPDXJSON, scan.CycloneDXJSON} {
		b, err := c.SBOM(context.Background(), req, f)
		require.NoError(t, err, f)
		assert.Contains(t, string(b), "a/b@"+digest.FromString("m").String())
	}
	_, err = c.SBOM(context.Background(), req, "text/plain")
	assert.ErrorIs(t, err, scan.ErrUnsupported)

	plain := httptest.NewServer(adapter.NewServer(slowScanner(release)))
	defer plain.Close()
	c, err = adapter.NewClient(plain.URL)
	require.NoError(t, err)
	_, err = c.SBOM(context.Background(), req, scan.SPDXJSON)
	assert.ErrorIs(t, err, scan.ErrUnsupported)
}
