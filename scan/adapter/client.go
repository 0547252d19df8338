package adapter

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/scan"
)

// Bounds on what the client reads.
const (
	// DefaultMaxReport bounds a report body.
	DefaultMaxReport = 64 << 20
	// maxSmallBody bounds metadata, scan responses and error bodies.
	maxSmallBody = 1 << 20
)

// Client speaks Harbor's Pluggable Scanner API v1.x to a scanner adapter:
// it implements scan.Scanner, so any adapter Harbor can use, berth can use.
type Client struct {
	base       string // ends with /api/v1
	hc         *http.Client
	header     string
	credential string
	reportMIME string
	minPoll    time.Duration
	maxPoll    time.Duration
	maxReport  int64

	mu sync.Mutex
	md *Metadata
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client (default: a client with a 1 minute
// timeout per request). Redirects are never followed: 302 is the API's
// "not ready yet".
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.hc = hc } }

// WithAuth sets how the client authenticates to the adapter, as Harbor's
// registration does: scheme "Basic" (credential "user:password"),
// "Bearer" (a token) or "X-ScannerAdapter-API-Key" (a key); "" for none.
func WithAuth(scheme, credential string) ClientOption {
	return func(c *Client) {
		switch scheme {
		case scan.AuthBasic:
			c.header, c.credential = "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(credential))
		case scan.AuthBearer:
			c.header, c.credential = "Authorization", "Bearer "+credential
		case scan.AuthAPIKey:
			c.header, c.credential = scan.AuthAPIKey, credential
		default:
			c.header, c.credential = "", ""
		}
	}
}

// WithReportMIME forces the report media type the client asks for
// (ReportMIME10 or ReportMIME11; default: 1.1 when the adapter produces
// it, else 1.0).
func WithReportMIME(m string) ClientOption { return func(c *Client) { c.reportMIME = m } }

// WithPollBounds clamps the adapter's Refresh-After (default 100ms to
// 1 minute; 1s when it sends none).
func WithPollBounds(minWait, maxWait time.Duration) ClientOption {
	return func(c *Client) { c.minPoll, c.maxPoll = minWait, maxWait }
}

// WithMaxReport bounds a report body (default DefaultMaxReport).
func WithMaxReport(n int64) ClientOption { return func(c *Client) { c.maxReport = n } }

// NewClient returns a client of the adapter at baseURL: its root
// ("http://trivy-adapter:8080", as Harbor registers adapters) or its API
// root ending in /api/v1.
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("adapter: base URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	base := u.String()
	if !strings.HasSuffix(base, "/api/v1") {
		base += "/api/v1"
	}
	c := &Client{base: base, hc: &http.Client{Timeout: time.Minute}, minPoll: 100 * time.Millisecond,
		maxPoll: time.Minute, maxReport: DefaultMaxReport}
	for _, o := range opts {
		o(c)
	}
	hc := *c.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	return c, nil
}

// NewClientFor builds a client from a scanner registration; it is the
// dial function to give scan.WithAdapters.
func NewClientFor(r scan.Registration) (scan.Scanner, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if r.SkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the administrator asked for it
	}
	return NewClient(r.URL, WithAuth(r.Auth, r.Credential), WithHTTPClient(&http.Client{Transport: tr, Timeout: time.Minute}))
}

// Error is an adapter's error answer.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("scanner adapter: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// HTTPStatus is the status the adapter answered: connection tests show it
// instead of Message, which is the adapter's own text.
func (e *Error) HTTPStatus() int { return e.Status }

func (c *Client) do(ctx context.Context, method, path, contentType, accept string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if c.header != "" {
		req.Header.Set(c.header, c.credential)
	}
	return c.hc.Do(req)
}

// readBody reads at most limit bytes, failing beyond.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("adapter: answer larger than %d bytes", limit)
	}
	return b, nil
}

// errorOf reads an error answer.
func errorOf(resp *http.Response) error {
	b, _ := readBody(resp.Body, maxSmallBody)
	msg := strings.TrimSpace(string(b))
	var er ErrorResponse
	if json.Unmarshal(b, &er) == nil && er.Error.Message != "" {
		msg = er.Error.Message
	}
	if len(msg) > 1024 {
		msg = msg[:1024] + "…"
	}
	return &Error{Status: resp.StatusCode, Message: msg}
}

// AdapterMetadata returns the adapter's metadata as it sent it.
func (c *Client) AdapterMetadata(ctx context.Context) (*Metadata, error) {
	resp, err := c.do(ctx, http.MethodGet, "/metadata", "", MetadataMIME11+", "+MetadataMIME10, nil)
	if err != nil {
		return nil, fmt.Errorf("adapter: metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errorOf(resp)
	}
	b, err := readBody(resp.Body, maxSmallBody)
	if err != nil {
		return nil, err
	}
	md, err := ParseMetadata(b)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.md = md
	c.mu.Unlock()
	return md, nil
}

// ParseMetadata reads a metadata document.
func ParseMetadata(b []byte) (*Metadata, error) {
	var md Metadata
	if err := json.Unmarshal(b, &md); err != nil {
		return nil, fmt.Errorf("adapter: metadata: %w", err)
	}
	if md.Scanner.Name == "" || len(md.Capabilities) == 0 {
		return nil, errors.New("adapter: metadata: want a scanner name and at least one capability")
	}
	return &md, nil
}

// Metadata implements scan.Scanner.
func (c *Client) Metadata(ctx context.Context) (scan.Metadata, error) {
	md, err := c.AdapterMetadata(ctx)
	if err != nil {
		return scan.Metadata{}, err
	}
	out := scan.Metadata{Scanner: scan.ScannerInfo(md.Scanner), Properties: md.Properties}
	for _, cp := range md.Capabilities {
		if cp.Type == "" || cp.Type == CapabilityVulnerability {
			out.Consumes = append(out.Consumes, cp.ConsumesMIMETypes...)
			out.Produces = append(out.Produces, cp.ProducesMIMETypes...)
		}
	}
	return out, nil
}

// metadata returns the cached metadata, fetching it once.
func (c *Client) metadata(ctx context.Context) (*Metadata, error) {
	c.mu.Lock()
	md := c.md
	c.mu.Unlock()
	if md != nil {
		return md, nil
	}
	return c.AdapterMetadata(ctx)
}

// chooseReportMIME picks the report type to ask for.
func (c *Client) chooseReportMIME(md *Metadata) (string, bool) {
	if c.reportMIME != "" {
		return c.reportMIME, false
	}
	typed := false
	for _, cp := range md.Capabilities {
		typed = typed || cp.Type != ""
		if cp.Type == "" || cp.Type == CapabilityVulnerability {
			if containsMIME(cp.ProducesMIMETypes, ReportMIME11) {
				return ReportMIME11, typed
			}
		}
	}
	return ReportMIME10, typed
}

// Submit sends a scan request and returns the adapter's request ID.
func (c *Client) Submit(ctx context.Context, sr ScanRequest) (string, error) {
	body, err := json.Marshal(sr)
	if err != nil {
		return "", err
	}
	ct := ScanRequestMIME10
	if len(sr.EnabledCapabilities) > 0 {
		ct = ScanRequestMIME11
	}
	resp, err := c.do(ctx, http.MethodPost, "/scan", ct, ScanResponseMIME, body)
	if err != nil {
		return "", fmt.Errorf("adapter: scan request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return "", errorOf(resp)
	}
	b, err := readBody(resp.Body, maxSmallBody)
	if err != nil {
		return "", err
	}
	return ParseScanResponse(b)
}

// ParseScanResponse reads the answer to POST /scan.
func ParseScanResponse(b []byte) (string, error) {
	var r ScanResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return "", fmt.Errorf("adapter: scan response: %w", err)
	}
	if r.ID == "" || len(r.ID) > 256 || strings.ContainsAny(r.ID, "/?#") {
		return "", fmt.Errorf("adapter: scan response: bad request ID %q", r.ID)
	}
	return r.ID, nil
}

// Poll fetches the report of a scan request as accept, waiting as the
// adapter asks (302 with Refresh-After) until it is ready or ctx ends.
func (c *Client) Poll(ctx context.Context, id, accept string) ([]byte, error) {
	return c.poll(ctx, "/scan/"+url.PathEscape(id)+"/report", accept)
}

func (c *Client) poll(ctx context.Context, path, accept string) ([]byte, error) {
	for {
		resp, err := c.do(ctx, http.MethodGet, path, "", accept, nil)
		if err != nil {
			return nil, fmt.Errorf("adapter: report: %w", err)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			b, err := readBody(resp.Body, c.maxReport)
			resp.Body.Close()
			return b, err
		case http.StatusFound:
			wait := c.refreshAfter(resp.Header.Get("Refresh-After"))
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxSmallBody))
			resp.Body.Close()
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		default:
			err := errorOf(resp)
			resp.Body.Close()
			return nil, err
		}
	}
}

func (c *Client) refreshAfter(h string) time.Duration {
	d := time.Second
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		d = time.Duration(min(n, 3600)) * time.Second
	}
	return min(max(d, c.minPoll), c.maxPoll)
}

// Scan implements scan.Scanner: it submits the artifact with the source's
// registry URL and Authorization, polls for the report and converts it.
func (c *Client) Scan(ctx context.Context, req scan.Request) (*scan.Report, error) {
	md, err := c.metadata(ctx)
	if err != nil {
		return nil, err
	}
	accept, typed := c.chooseReportMIME(md)
	scheme := "https://"
	if req.Source.Insecure {
		scheme = "http://"
	}
	sr := ScanRequest{
		Registry: Registry{URL: scheme + req.Source.Registry, Authorization: req.Source.Authorization},
		Artifact: Artifact{Repository: req.Artifact.Repository, Digest: req.Artifact.Digest.String(), MIMEType: req.Artifact.MediaType},
	}
	if typed {
		sr.EnabledCapabilities = []EnabledCapability{{Type: CapabilityVulnerability, ProducesMIMETypes: []string{accept}}}
	}
	id, err := c.Submit(ctx, sr)
	if err != nil {
		return nil, err
	}
	body, err := c.Poll(ctx, id, accept)
	if err != nil {
		return nil, err
	}
	hr, err := ParseReport(body)
	if err != nil {
		return nil, err
	}
	r := &scan.Report{
		Artifact:        req.Artifact,
		Scanner:         scan.ScannerInfo(hr.Scanner),
		DBVersion:       md.Properties[PropDBUpdatedAt],
		GeneratedAt:     hr.GeneratedAt,
		Vulnerabilities: make([]scan.Vulnerability, 0, len(hr.Vulnerabilities)),
	}
	if r.Scanner.Name == "" {
		r.Scanner = scan.ScannerInfo(md.Scanner)
	}
	for _, it := range hr.Vulnerabilities {
		r.Vulnerabilities = append(r.Vulnerabilities, vulnerabilityOf(it))
	}
	r.Severity = scan.Worst(r.Vulnerabilities)
	return r, nil
}

// ParseReport reads a vulnerability report (either MIME type).
func ParseReport(b []byte) (*VulnerabilityReport, error) {
	var r VulnerabilityReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("adapter: report: %w", err)
	}
	for i, v := range r.Vulnerabilities {
		if v.ID == "" {
			return nil, fmt.Errorf("adapter: report: vulnerability %d has no id", i)
		}
	}
	return &r, nil
}

func parseDigestOrEmpty(s string) digest.Digest {
	d, err := digest.Parse(s)
	if err != nil {
		return ""
	}
	return d
}

// SBOM implements scan.SBOMGenerator with the adapter's sbom capability
// (spec 1.2): it asks for the format, polls for the SBOM report and returns
// the document it carries. Adapters without the capability answer an
// error wrapping scan.ErrUnsupported.
func (c *Client) SBOM(ctx context.Context, req scan.Request, format string) ([]byte, error) {
	if format != scan.SPDXJSON && format != scan.CycloneDXJSON {
		return nil, fmt.Errorf("adapter: SBOM format %q: %w", format, scan.ErrUnsupported)
	}
	md, err := c.metadata(ctx)
	if err != nil {
		return nil, err
	}
	capable := false
	for _, cp := range md.Capabilities {
		capable = capable || (cp.Type == CapabilitySBOM && containsMIME(cp.ProducesMIMETypes, SBOMReportMIME))
	}
	if !capable {
		return nil, fmt.Errorf("adapter: scanner %q has no sbom capability: %w", md.Scanner.Name, scan.ErrUnsupported)
	}
	scheme := "https://"
	if req.Source.Insecure {
		scheme = "http://"
	}
	id, err := c.Submit(ctx, ScanRequest{
		Registry: Registry{URL: scheme + req.Source.Registry, Authorization: req.Source.Authorization},
		Artifact: Artifact{Repository: req.Artifact.Repository, Digest: req.Artifact.Digest.String(), MIMEType: req.Artifact.MediaType},
		EnabledCapabilities: []EnabledCapability{{Type: CapabilitySBOM, ProducesMIMETypes: []string{SBOMReportMIME},
			Parameters: &SBOMParameters{SBOMMediaTypes: []string{format}}}},
	})
	if err != nil {
		return nil, err
	}
	body, err := c.poll(ctx, "/scan/"+url.PathEscape(id)+"/report?sbom_media_type="+url.QueryEscape(format), SBOMReportMIME)
	if err != nil {
		return nil, err
	}
	var r SBOMReport
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("adapter: SBOM report: %w", err)
	}
	if r.SBOM == nil || (r.MediaType != "" && r.MediaType != format) {
		return nil, fmt.Errorf("adapter: SBOM report: no %s document", format)
	}
	return json.Marshal(r.SBOM)
}
