package scan

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// Severity ranks a vulnerability, Unknown lowest. Its text form is
// Harbor's: "Unknown", "Negligible", "Low", "Medium", "High", "Critical"
// (and "None" for a report with no vulnerabilities).
type Severity int

// Severities, in increasing order.
const (
	None Severity = iota
	Unknown
	Negligible
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"None", "Unknown", "Negligible", "Low", "Medium", "High", "Critical"}

func (s Severity) String() string {
	if s < None || s > Critical {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, in any case ("high", "HIGH").
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return None, fmt.Errorf("scan: unknown severity %q: want one of %s", name, strings.Join(severityNames[:], ", "))
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) {
	if s < None || s > Critical {
		return nil, fmt.Errorf("scan: invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Artifact names what to scan: a manifest (image or index) in a
// repository.
type Artifact struct {
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
	MediaType  string        `json:"mime_type"`
}

// Source is where a scanner reads an artifact from: the registry's
// distribution API, reached through Transport for base URL Registry. For
// berth's own registry, Transport is registry.Transport (in-process, no
// credentials, no gates); for a remote one, an authenticating transport.
type Source struct {
	Registry  string            // host[:port] used in references, e.g. "berth.internal"
	Transport http.RoundTripper // nil: http.DefaultTransport
	Insecure  bool              // plain HTTP
	// Authorization, when set, is the Authorization header value a scanner
	// that pulls over HTTP sends (Harbor's registry.authorization: a Basic
	// credential of a robot account made for the scan, for example).
	Authorization string
}

// Request is one scan: an artifact and where to read it.
type Request struct {
	Artifact Artifact
	Source   Source
}

// Layer is where in an image a vulnerable package was found.
type Layer struct {
	Digest digest.Digest `json:"digest,omitempty"`  // compressed blob digest
	DiffID digest.Digest `json:"diff_id,omitempty"` // uncompressed digest
}

// CVSS holds the preferred CVSS scores and vectors of a vulnerability.
type CVSS struct {
	ScoreV3  float64 `json:"score_v3,omitempty"`
	ScoreV2  float64 `json:"score_v2,omitempty"`
	VectorV3 string  `json:"vector_v3,omitempty"`
	VectorV2 string  `json:"vector_v2,omitempty"`
}

// Vulnerability is one finding: a vulnerability in one installed package.
type Vulnerability struct {
	ID         string `json:"id"`                    // CVE-2024-1234, GHSA-..., DSA-...
	Package    string `json:"package"`               // package name
	PURL       string `json:"purl,omitempty"`        // package URL, when known
	Version    string `json:"version"`               // installed version
	FixVersion string `json:"fix_version,omitempty"` // empty when no fix is published
	// Status is the vendor's word on a fix, where it gave one: "fixed",
	// "affected", "will_not_fix", "fix_deferred", "end_of_life",
	// "under_investigation"; empty when unknown.
	Status      string   `json:"status,omitempty"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Links       []string `json:"links,omitempty"`
	CVSS        *CVSS    `json:"preferred_cvss,omitempty"`
	CWEIDs      []string `json:"cwe_ids,omitempty"`
	Layer       *Layer   `json:"layer,omitempty"`
}

// ScannerInfo names a scanner and its version.
type ScannerInfo struct {
	Name    string `json:"name"`
	Vendor  string `json:"vendor"`
	Version string `json:"version"`
}

// Report is a scanner's findings for one artifact, as of one vulnerability
// database version.
type Report struct {
	Artifact        Artifact        `json:"artifact"`
	Scanner         ScannerInfo     `json:"scanner"`
	DBVersion       string          `json:"db_version"` // e.g. the DB's UpdatedAt, RFC 3339
	GeneratedAt     time.Time       `json:"generated_at"`
	Severity        Severity        `json:"severity"` // the worst finding's, None when clean
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
}

// Metadata describes a scanner: who it is, what it reads and writes, and
// free-form properties (Harbor's scanner adapter metadata).
type Metadata struct {
	Scanner    ScannerInfo       `json:"scanner"`
	Consumes   []string          `json:"consumes_mime_types"` // artifact media types it scans
	Produces   []string          `json:"produces_mime_types"` // report media types
	Properties map[string]string `json:"properties,omitempty"`
}

// Scanner scans one artifact. Implementations: scan/trivy (Trivy as a
// library) and scan/adapter.Client (any Harbor pluggable scanner).
type Scanner interface {
	Metadata(ctx context.Context) (Metadata, error)
	Scan(ctx context.Context, req Request) (*Report, error)
}

// SBOM formats, named by their media types (the artifactType of the
// referrer that stores them).
const (
	SPDXJSON      = "application/spdx+json"
	CycloneDXJSON = "application/vnd.cyclonedx+json"
)

// SBOMGenerator writes a software bill of materials for an artifact in
// format (SPDXJSON or CycloneDXJSON).
type SBOMGenerator interface {
	SBOM(ctx context.Context, req Request, format string) ([]byte, error)
}

// Worst returns the highest severity among vs, None when vs is empty.
func Worst(vs []Vulnerability) Severity {
	w := None
	for _, v := range vs {
		w = max(w, v.Severity)
	}
	return w
}
