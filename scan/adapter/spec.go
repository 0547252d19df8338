package adapter

import (
	"mime"
	"strings"
	"time"

	"github.com/berthlabs/berth/scan"
)

// Media types of the Pluggable Scanner API.
const (
	MetadataMIME10    = "application/vnd.scanner.adapter.metadata+json; version=1.0"
	MetadataMIME11    = "application/vnd.scanner.adapter.metadata+json; version=1.1"
	ScanRequestMIME10 = "application/vnd.scanner.adapter.scan.request+json; version=1.0"
	ScanRequestMIME11 = "application/vnd.scanner.adapter.scan.request+json; version=1.1"
	ScanResponseMIME  = "application/vnd.scanner.adapter.scan.response+json; version=1.0"
	ErrorMIME         = "application/vnd.scanner.adapter.error+json; version=1.0"
	// ReportMIME10 is Harbor's original vulnerability report.
	ReportMIME10 = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"
	// ReportMIME11 adds preferred CVSS, CWE IDs and vendor attributes.
	ReportMIME11 = "application/vnd.security.vulnerability.report; version=1.1"
	// RawReportMIME is a scanner-specific report; berth's server answers
	// it with berth's own report model (scan.Report) as JSON.
	RawReportMIME  = "application/vnd.scanner.adapter.vuln.report.raw"
	SBOMReportMIME = "application/vnd.security.sbom.report+json; version=1.0"
)

// Capability types (spec 1.2).
const (
	CapabilityVulnerability = "vulnerability"
	CapabilitySBOM          = "sbom"
)

// Metadata properties a scanner adapter commonly reports.
const (
	PropScannerType     = "harbor.scanner-adapter/scanner-type"
	PropDBUpdatedAt     = "harbor.scanner-adapter/vulnerability-database-updated-at"
	PropDBNextUpdateAt  = "harbor.scanner-adapter/vulnerability-database-next-update-at"
	scannerTypeOSVulner = "os-package-vulnerability"
)

// Scanner names a scanner.
type Scanner struct {
	Name    string `json:"name"`
	Vendor  string `json:"vendor"`
	Version string `json:"version"`
}

// Capability is what artifacts a scanner reads and what reports it writes.
type Capability struct {
	Type                 string         `json:"type,omitempty"`
	ConsumesMIMETypes    []string       `json:"consumes_mime_types"`
	ProducesMIMETypes    []string       `json:"produces_mime_types"`
	AdditionalAttributes map[string]any `json:"additional_attributes,omitempty"`
}

// Metadata is the answer to GET /metadata.
type Metadata struct {
	Scanner      Scanner           `json:"scanner"`
	Capabilities []Capability      `json:"capabilities"`
	Properties   map[string]string `json:"properties,omitempty"`
}

// Registry is where the scanner pulls from.
type Registry struct {
	URL           string `json:"url"`
	Authorization string `json:"authorization,omitempty"`
}

// Artifact is what to scan.
type Artifact struct {
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	Tag        string `json:"tag,omitempty"`
	MIMEType   string `json:"mime_type,omitempty"`
}

// SBOMParameters select SBOM formats.
type SBOMParameters struct {
	SBOMMediaTypes []string `json:"sbom_media_types,omitempty"`
}

// EnabledCapability narrows a scan request to one capability (spec 1.2).
type EnabledCapability struct {
	Type              string          `json:"type"`
	ProducesMIMETypes []string        `json:"produces_mime_types,omitempty"`
	Parameters        *SBOMParameters `json:"parameters,omitempty"`
}

// ScanRequest is the body of POST /scan.
type ScanRequest struct {
	Registry            Registry            `json:"registry"`
	Artifact            Artifact            `json:"artifact"`
	EnabledCapabilities []EnabledCapability `json:"enabled_capabilities,omitempty"`
}

// ScanResponse is the answer to POST /scan.
type ScanResponse struct {
	ID string `json:"id"`
}

// CVSSDetails are a vulnerability's preferred CVSS scores and vectors.
type CVSSDetails struct {
	ScoreV3  *float64 `json:"score_v3,omitempty"`
	ScoreV2  *float64 `json:"score_v2,omitempty"`
	VectorV3 string   `json:"vector_v3,omitempty"`
	VectorV2 string   `json:"vector_v2,omitempty"`
}

// Layer is where a vulnerable package was found (an extension that
// Harbor's own adapters send too).
type Layer struct {
	Digest string `json:"digest,omitempty"`
	DiffID string `json:"diff_id,omitempty"`
}

// VulnerabilityItem is one finding of a report.
type VulnerabilityItem struct {
	ID               string         `json:"id"`
	Package          string         `json:"package"`
	Version          string         `json:"version"`
	FixVersion       string         `json:"fix_version,omitempty"`
	Severity         string         `json:"severity"`
	Description      string         `json:"description,omitempty"`
	Links            []string       `json:"links,omitempty"`
	PreferredCVSS    *CVSSDetails   `json:"preferred_cvss,omitempty"`
	CWEIDs           []string       `json:"cwe_ids,omitempty"`
	VendorAttributes map[string]any `json:"vendor_attributes,omitempty"`
	Layer            *Layer         `json:"layer,omitempty"`
}

// VulnerabilityReport is Harbor's vulnerability report (both MIME types).
type VulnerabilityReport struct {
	GeneratedAt     time.Time           `json:"generated_at"`
	Artifact        Artifact            `json:"artifact"`
	Scanner         Scanner             `json:"scanner"`
	Severity        string              `json:"severity,omitempty"`
	Vulnerabilities []VulnerabilityItem `json:"vulnerabilities"`
}

// SBOMReport is Harbor's SBOM report (spec 1.2).
type SBOMReport struct {
	GeneratedAt time.Time      `json:"generated_at"`
	Artifact    Artifact       `json:"artifact"`
	Scanner     Scanner        `json:"scanner"`
	MediaType   string         `json:"media_type"`
	SBOM        map[string]any `json:"sbom"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the error's message.
type ErrorBody struct {
	Message string `json:"message"`
}

// sameMIME compares media types ignoring case, spacing and parameter
// order; a version parameter must match when both name one.
func sameMIME(a, b string) bool {
	at, ap, err1 := mime.ParseMediaType(a)
	bt, bp, err2 := mime.ParseMediaType(b)
	if err1 != nil || err2 != nil {
		return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
	}
	return at == bt && (ap["version"] == "" || bp["version"] == "" || ap["version"] == bp["version"])
}

func containsMIME(list []string, m string) bool {
	for _, x := range list {
		if sameMIME(x, m) {
			return true
		}
	}
	return false
}

// Vendor attribute keys berth writes and reads.
const (
	attrTitle = "title"
	attrPURL  = "purl"
)

// itemOf converts a finding; v11 adds the fields of report version 1.1.
func itemOf(v scan.Vulnerability, v11 bool) VulnerabilityItem {
	it := VulnerabilityItem{ID: v.ID, Package: v.Package, Version: v.Version, FixVersion: v.FixVersion,
		Severity: severityName(v.Severity), Description: v.Description, Links: v.Links}
	if v.Layer != nil {
		it.Layer = &Layer{Digest: v.Layer.Digest.String(), DiffID: v.Layer.DiffID.String()}
	}
	if !v11 {
		return it
	}
	if c := v.CVSS; c != nil {
		it.PreferredCVSS = &CVSSDetails{VectorV3: c.VectorV3, VectorV2: c.VectorV2}
		if c.ScoreV3 != 0 {
			it.PreferredCVSS.ScoreV3 = &c.ScoreV3
		}
		if c.ScoreV2 != 0 {
			it.PreferredCVSS.ScoreV2 = &c.ScoreV2
		}
	}
	it.CWEIDs = v.CWEIDs
	if v.Title != "" || v.PURL != "" {
		it.VendorAttributes = map[string]any{}
		if v.Title != "" {
			it.VendorAttributes[attrTitle] = v.Title
		}
		if v.PURL != "" {
			it.VendorAttributes[attrPURL] = v.PURL
		}
	}
	return it
}

// severityName is the spec's spelling; None is not in its enum and is
// sent as Unknown.
func severityName(s scan.Severity) string {
	if s <= scan.Unknown || s > scan.Critical {
		return scan.Unknown.String()
	}
	return s.String()
}

// vulnerabilityOf converts a received finding. Unknown severity names are
// read as Unknown.
func vulnerabilityOf(it VulnerabilityItem) scan.Vulnerability {
	sev, err := scan.ParseSeverity(it.Severity)
	if err != nil || sev == scan.None {
		sev = scan.Unknown
	}
	v := scan.Vulnerability{ID: it.ID, Package: it.Package, Version: it.Version, FixVersion: it.FixVersion,
		Severity: sev, Description: it.Description, Links: it.Links, CWEIDs: it.CWEIDs}
	if c := it.PreferredCVSS; c != nil {
		v.CVSS = &scan.CVSS{VectorV3: c.VectorV3, VectorV2: c.VectorV2}
		if c.ScoreV3 != nil {
			v.CVSS.ScoreV3 = *c.ScoreV3
		}
		if c.ScoreV2 != nil {
			v.CVSS.ScoreV2 = *c.ScoreV2
		}
	}
	if s, ok := it.VendorAttributes[attrTitle].(string); ok {
		v.Title = s
	}
	if s, ok := it.VendorAttributes[attrPURL].(string); ok {
		v.PURL = s
	}
	if it.Layer != nil {
		v.Layer = &scan.Layer{Digest: parseDigestOrEmpty(it.Layer.Digest), DiffID: parseDigestOrEmpty(it.Layer.DiffID)}
	}
	return v
}
