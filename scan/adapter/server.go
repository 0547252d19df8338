package adapter

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/scan"
)

// Server bounds.
const (
	maxScanRequest = 64 << 10
	// DefaultMaxScans bounds the scans a Server keeps (queued, running or
	// finished and not yet expired).
	DefaultMaxScans = 1000
)

// Server serves Harbor's Pluggable Scanner API v1.2 under /api/v1 with any
// scan.Scanner (and optionally a scan.SBOMGenerator), so Harbor — or
// berth's Client — can use berth's scanner. Scans run in the background,
// a bounded number at once; finished ones are kept for a while for their
// report to be fetched.
type Server struct {
	sc          scan.Scanner
	gen         scan.SBOMGenerator
	authorize   func(*http.Request) bool
	transport   http.RoundTripper
	concurrency int
	maxScans    int
	keep        time.Duration
	refresh     int
	timeout     time.Duration
	log         *slog.Logger
	now         func() time.Time
	mux         *http.ServeMux

	sem  chan struct{}
	mu   sync.Mutex
	jobs map[string]*job
}

type job struct {
	req      ScanRequest
	done     bool
	report   *scan.Report
	sboms    map[string][]byte
	err      error
	finished time.Time
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithSBOM serves the sbom capability with g.
func WithSBOM(g scan.SBOMGenerator) ServerOption { return func(s *Server) { s.gen = g } }

// WithAuthorizer admits a request when f returns true; others get 401.
// Default: everyone. See RequireToken.
func WithAuthorizer(f func(*http.Request) bool) ServerOption {
	return func(s *Server) { s.authorize = f }
}

// RequireToken admits requests carrying "Authorization: Bearer token" or
// "X-ScannerAdapter-API-Key: token".
func RequireToken(token string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		got := r.Header.Get(scan.AuthAPIKey)
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			got = b
		}
		return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
	}
}

// WithRegistryTransport sets the transport the scanner pulls with (default
// http.DefaultTransport); the request's Authorization is added to it.
func WithRegistryTransport(rt http.RoundTripper) ServerOption {
	return func(s *Server) { s.transport = rt }
}

// WithConcurrency bounds the scans running at once (default 2).
func WithConcurrency(n int) ServerOption { return func(s *Server) { s.concurrency = n } }

// WithMaxScans bounds the scans kept (default DefaultMaxScans); beyond it
// new requests are refused with 500 until older ones expire.
func WithMaxScans(n int) ServerOption { return func(s *Server) { s.maxScans = n } }

// WithRetention sets how long a finished scan's report stays available
// (default 1 hour).
func WithRetention(d time.Duration) ServerOption { return func(s *Server) { s.keep = d } }

// WithRefreshAfter sets the Refresh-After seconds sent with 302 (default 1).
func WithRefreshAfter(seconds int) ServerOption { return func(s *Server) { s.refresh = seconds } }

// WithScanTimeout bounds one scan (default 30 minutes); a scan past it
// fails.
func WithScanTimeout(d time.Duration) ServerOption { return func(s *Server) { s.timeout = d } }

// WithServerLogger sets the logger (default slog.Default()).
func WithServerLogger(l *slog.Logger) ServerOption { return func(s *Server) { s.log = l } }

// NewServer returns a Server for sc.
func NewServer(sc scan.Scanner, opts ...ServerOption) *Server {
	s := &Server{sc: sc, authorize: func(*http.Request) bool { return true }, transport: http.DefaultTransport,
		concurrency: 2, maxScans: DefaultMaxScans, keep: time.Hour, refresh: 1, timeout: 30 * time.Minute,
		log: slog.Default(), now: time.Now,
		jobs: map[string]*job{}}
	for _, o := range opts {
		o(s)
	}
	s.sem = make(chan struct{}, max(1, s.concurrency))
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /api/v1/metadata", s.metadata)
	s.mux.HandleFunc("POST /api/v1/scan", s.accept)
	s.mux.HandleFunc("GET /api/v1/scan/{id}/report", s.report)
	return s
}

// ServeHTTP serves the API. Mount it at the adapter's root; with
// http.StripPrefix it can live under any path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scanner-adapter"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong credentials")
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, contentType = http.StatusInternalServerError, ErrorMIME
		b = []byte(`{"error":{"message":"cannot encode the answer"}}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorMIME, ErrorResponse{Error: ErrorBody{Message: msg}})
}

var imageMIMEs = []string{"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}

// vulnMIMEs are the vulnerability report types served.
var vulnMIMEs = []string{ReportMIME10, ReportMIME11, RawReportMIME}

func (s *Server) adapterMetadata(ctx context.Context) (Metadata, error) {
	md, err := s.sc.Metadata(ctx)
	if err != nil {
		return Metadata{}, err
	}
	consumes := md.Consumes
	if len(consumes) == 0 {
		consumes = imageMIMEs
	}
	out := Metadata{Scanner: Scanner(md.Scanner),
		Capabilities: []Capability{{Type: CapabilityVulnerability, ConsumesMIMETypes: consumes, ProducesMIMETypes: vulnMIMEs}},
		Properties:   map[string]string{PropScannerType: scannerTypeOSVulner}}
	for k, v := range md.Properties {
		if v != "" {
			out.Properties[k] = v
		}
	}
	if s.gen != nil {
		out.Capabilities = append(out.Capabilities, Capability{Type: CapabilitySBOM, ConsumesMIMETypes: consumes,
			ProducesMIMETypes:    []string{SBOMReportMIME},
			AdditionalAttributes: map[string]any{"sbom_media_types": []string{scan.SPDXJSON, scan.CycloneDXJSON}}})
	}
	return out, nil
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	md, err := s.adapterMetadata(r.Context())
	if err != nil {
		s.log.ErrorContext(r.Context(), "scanner adapter: metadata", "err", err)
		writeError(w, http.StatusInternalServerError, "the scanner cannot describe itself: "+err.Error())
		return
	}
	ct := MetadataMIME11
	if acc := r.Header.Get("Accept"); acc != "" && !strings.Contains(acc, "version=1.1") && strings.Contains(acc, "version=1.0") {
		ct = MetadataMIME10
	}
	writeJSON(w, http.StatusOK, ct, md)
}

// requestError is a refusal of a scan request: status and message.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func bad(status int, format string, args ...any) error {
	return &requestError{status: status, msg: fmt.Sprintf(format, args...)}
}

// ParseScanRequest reads and checks a scan request body: 400 for what is
// not JSON of the right shape, 422 for invalid fields, 501 for a
// capability the server lacks.
func ParseScanRequest(b []byte, consumes []string, sbom bool) (ScanRequest, error) {
	var sr ScanRequest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&sr); err != nil {
		return sr, bad(http.StatusBadRequest, "malformed scan request: %v", err)
	}
	if dec.More() {
		return sr, bad(http.StatusBadRequest, "malformed scan request: data after the JSON object")
	}
	u, err := url.Parse(sr.Registry.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.User != nil || u.RawQuery != "" {
		return sr, bad(http.StatusUnprocessableEntity, "registry.url %q: want http(s)://host[:port]", sr.Registry.URL)
	}
	if a := sr.Artifact.Repository; a == "" || len(a) > 255 || strings.ContainsAny(a, " \t\r\n?#@:") || strings.HasPrefix(a, "/") {
		return sr, bad(http.StatusUnprocessableEntity, "artifact.repository %q: want a repository name", a)
	}
	if _, err := digest.Parse(sr.Artifact.Digest); err != nil {
		return sr, bad(http.StatusUnprocessableEntity, "artifact.digest %q: %v", sr.Artifact.Digest, err)
	}
	if mt := sr.Artifact.MIMEType; mt != "" && !containsMIME(consumes, mt) {
		return sr, bad(http.StatusUnprocessableEntity, "artifact.mime_type %q: this scanner reads %s", mt, strings.Join(consumes, ", "))
	}
	for _, ec := range sr.EnabledCapabilities {
		switch {
		case ec.Type == CapabilityVulnerability:
			for _, m := range ec.ProducesMIMETypes {
				if !containsMIME(vulnMIMEs, m) {
					return sr, bad(http.StatusNotImplemented, "report type %q is not produced by this scanner", m)
				}
			}
		case ec.Type == CapabilitySBOM && sbom:
			if ec.Parameters != nil {
				for _, m := range ec.Parameters.SBOMMediaTypes {
					if m != scan.SPDXJSON && m != scan.CycloneDXJSON {
						return sr, bad(http.StatusNotImplemented, "SBOM media type %q is not produced by this scanner", m)
					}
				}
			}
		default:
			return sr, bad(http.StatusNotImplemented, "capability %q is not offered by this scanner", ec.Type)
		}
	}
	return sr, nil
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/vnd.scanner.adapter.scan.request+json" && mt != "application/json") {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("content type %q: want %s", ct, ScanRequestMIME11))
			return
		}
	}
	b, err := readBody(http.MaxBytesReader(w, r.Body, maxScanRequest), maxScanRequest)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("scan request larger than %d bytes or unreadable", maxScanRequest))
		return
	}
	md, err := s.adapterMetadata(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "the scanner is unavailable: "+err.Error())
		return
	}
	sr, err := ParseScanRequest(b, md.Capabilities[0].ConsumesMIMETypes, s.gen != nil)
	var re *requestError
	if errors.As(err, &re) {
		writeError(w, re.status, re.msg)
		return
	}
	id := newRequestID()
	s.mu.Lock()
	s.expire()
	if len(s.jobs) >= s.maxScans {
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("too many scans in progress (%d); retry later", s.maxScans))
		return
	}
	j := &job{req: sr}
	s.jobs[id] = j
	s.mu.Unlock()
	go s.run(id, j)
	writeJSON(w, http.StatusAccepted, ScanResponseMIME, ScanResponse{ID: id})
}

// expire drops finished scans past retention; s.mu is held.
func (s *Server) expire() {
	now := s.now()
	for id, j := range s.jobs {
		if j.done && now.Sub(j.finished) > s.keep {
			delete(s.jobs, id)
		}
	}
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// authTransport adds the scan request's Authorization to requests for the
// registry's host that carry none.
type authTransport struct {
	base http.RoundTripper
	host string
	auth string
}

func (t authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.auth != "" && r.URL.Host == t.host && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", t.auth)
	}
	return t.base.RoundTrip(r)
}

func (s *Server) run(id string, j *job) {
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	u, _ := url.Parse(j.req.Registry.URL)
	src := scan.Source{Registry: u.Host, Insecure: u.Scheme == "http", Authorization: j.req.Registry.Authorization,
		Transport: authTransport{base: s.transport, host: u.Host, auth: j.req.Registry.Authorization}}
	d, _ := digest.Parse(j.req.Artifact.Digest)
	req := scan.Request{Artifact: scan.Artifact{Repository: j.req.Artifact.Repository, Digest: d, MediaType: j.req.Artifact.MIMEType}, Source: src}
	var (
		report *scan.Report
		sboms  map[string][]byte
		err    error
	)
	if j.wants(CapabilityVulnerability) {
		report, err = s.sc.Scan(ctx, req)
		if err == nil && report == nil {
			err = errors.New("the scanner returned no report")
		}
	}
	if err == nil && s.gen != nil && j.wants(CapabilitySBOM) && len(j.req.EnabledCapabilities) > 0 {
		sboms = map[string][]byte{}
		for _, f := range j.sbomFormats() {
			var b []byte
			if b, err = s.gen.SBOM(ctx, req, f); err != nil {
				break
			}
			sboms[f] = b
		}
	}
	if err != nil {
		s.log.Warn("scanner adapter: scan failed", "id", id, "artifact", j.req.Artifact.Repository+"@"+j.req.Artifact.Digest, "err", err)
	}
	s.mu.Lock()
	j.done, j.report, j.sboms, j.err, j.finished = true, report, sboms, err, s.now()
	s.mu.Unlock()
}

// wants reports whether the request enabled capability typ (all when it
// names none).
func (j *job) wants(typ string) bool {
	if len(j.req.EnabledCapabilities) == 0 {
		return typ == CapabilityVulnerability
	}
	for _, ec := range j.req.EnabledCapabilities {
		if ec.Type == typ {
			return true
		}
	}
	return false
}

func (j *job) sbomFormats() []string {
	for _, ec := range j.req.EnabledCapabilities {
		if ec.Type == CapabilitySBOM && ec.Parameters != nil && len(ec.Parameters.SBOMMediaTypes) > 0 {
			return ec.Parameters.SBOMMediaTypes
		}
	}
	return []string{scan.SPDXJSON, scan.CycloneDXJSON}
}

// negotiate picks the report type for an Accept header: the first listed
// that the server produces (1.1 when none is named), or "" when none.
func negotiate(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return ReportMIME11
	}
	for _, part := range splitAccept(accept) {
		mt, _, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		if mt == "*/*" || mt == "application/*" {
			return ReportMIME11
		}
		for _, m := range append(vulnMIMEs[:len(vulnMIMEs):len(vulnMIMEs)], SBOMReportMIME) {
			if sameMIME(part, m) {
				return m
			}
		}
	}
	return ""
}

// splitAccept splits on commas outside quotes.
func splitAccept(s string) []string {
	var out []string
	start, quoted := 0, false
	for i, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	j, ok := s.jobs[id]
	var done bool
	var rep *scan.Report
	var sboms map[string][]byte
	var jerr error
	if ok {
		done, rep, sboms, jerr = j.done, j.report, j.sboms, j.err
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "no scan request "+strconv.Quote(id))
		return
	}
	mt := negotiate(r.Header.Get("Accept"))
	switch {
	case mt == "":
		writeError(w, http.StatusNotImplemented, fmt.Sprintf("report type %q is not produced by this scanner", r.Header.Get("Accept")))
		return
	case mt == SBOMReportMIME:
		f := r.URL.Query().Get("sbom_media_type")
		if f != scan.SPDXJSON && f != scan.CycloneDXJSON {
			writeError(w, http.StatusBadRequest, "sbom_media_type: want application/spdx+json or application/vnd.cyclonedx+json")
			return
		}
		if s.gen == nil || !j.wants(CapabilitySBOM) || len(j.req.EnabledCapabilities) == 0 {
			writeError(w, http.StatusNotImplemented, "this scan request did not ask for an SBOM")
			return
		}
	}
	if !done {
		w.Header().Set("Refresh-After", strconv.Itoa(s.refresh))
		w.WriteHeader(http.StatusFound)
		return
	}
	if jerr != nil {
		writeError(w, http.StatusInternalServerError, "scan failed: "+jerr.Error())
		return
	}
	md, _ := s.sc.Metadata(r.Context())
	art := j.req.Artifact
	switch mt {
	case RawReportMIME:
		if rep == nil {
			writeError(w, http.StatusNotImplemented, "this scan request did not ask for vulnerabilities")
			return
		}
		writeJSON(w, http.StatusOK, RawReportMIME, rep)
	case SBOMReportMIME:
		f := r.URL.Query().Get("sbom_media_type")
		var doc map[string]any
		if err := json.Unmarshal(sboms[f], &doc); err != nil {
			writeError(w, http.StatusInternalServerError, "the SBOM generator wrote no JSON object for "+f)
			return
		}
		writeJSON(w, http.StatusOK, SBOMReportMIME, SBOMReport{GeneratedAt: j.finished.UTC(), Artifact: art,
			Scanner: Scanner(md.Scanner), MediaType: f, SBOM: doc})
	default:
		if rep == nil {
			writeError(w, http.StatusNotImplemented, "this scan request did not ask for vulnerabilities")
			return
		}
		v11 := mt == ReportMIME11
		hr := VulnerabilityReport{GeneratedAt: rep.GeneratedAt.UTC(), Artifact: art, Scanner: Scanner(rep.Scanner),
			Vulnerabilities: make([]VulnerabilityItem, 0, len(rep.Vulnerabilities))}
		if hr.GeneratedAt.IsZero() {
			hr.GeneratedAt = j.finished.UTC()
		}
		if sev := scan.Worst(rep.Vulnerabilities); sev > scan.None {
			hr.Severity = severityName(sev)
		}
		for _, v := range rep.Vulnerabilities {
			hr.Vulnerabilities = append(hr.Vulnerabilities, itemOf(v, v11))
		}
		writeJSON(w, http.StatusOK, mt, hr)
	}
}
