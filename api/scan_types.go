package api

import "time"

// ScanType selects what a scan request does (Harbor's ScanType).
type ScanType struct {
	ScanType string `json:"scan_type,omitempty" doc:"vulnerability (default) or sbom"`
}

// ScanTaskInfo is a queued or finished task.
type ScanTaskInfo struct {
	ReportID   string    `json:"report_id" doc:"the task's ID; its log is at .../scan/{report_id}/log"`
	ScanType   string    `json:"scan_type"`
	ScanStatus string    `json:"scan_status" doc:"Pending, Running, Success, Error or Stopped"`
	Trigger    string    `json:"trigger"`
	Scanner    string    `json:"scanner" doc:"the scanner registration's uuid"`
	Message    string    `json:"message,omitempty"`
	CreateTime time.Time `json:"create_time"`
	StartTime  time.Time `json:"start_time,omitzero"`
	EndTime    time.Time `json:"end_time,omitzero"`
	// Children are the scans of an index's image manifests, when an index
	// was scanned (the index itself has no task).
	Children []ScanTaskInfo `json:"children,omitempty"`
}

// VulnerabilitySummary counts findings by severity.
type VulnerabilitySummary struct {
	Total   int            `json:"total"`
	Fixable int            `json:"fixable"`
	Summary map[string]int `json:"summary" doc:"count by severity name"`
}

// ScannerInfo names a scanner.
type ScannerInfo struct {
	Name    string `json:"name"`
	Vendor  string `json:"vendor"`
	Version string `json:"version"`
}

// NativeReportSummary is an artifact's scan overview, as Harbor shows it
// with each artifact under the report's media type.
type NativeReportSummary struct {
	ReportID        string                `json:"report_id"`
	ScanStatus      string                `json:"scan_status"`
	Severity        string                `json:"severity,omitempty"`
	Duration        int64                 `json:"duration" doc:"seconds"`
	Summary         *VulnerabilitySummary `json:"summary,omitempty"`
	StartTime       time.Time             `json:"start_time,omitzero"`
	EndTime         time.Time             `json:"end_time,omitzero"`
	CompletePercent int                   `json:"complete_percent"`
	Scanner         *ScannerInfo          `json:"scanner,omitempty"`
	DBVersion       string                `json:"db_version,omitempty" doc:"berth: the vulnerability database version of the report"`
}

// CVSS holds a finding's preferred CVSS scores.
type CVSS struct {
	ScoreV3  float64 `json:"score_v3,omitempty"`
	ScoreV2  float64 `json:"score_v2,omitempty"`
	VectorV3 string  `json:"vector_v3,omitempty"`
	VectorV2 string  `json:"vector_v2,omitempty"`
}

// VulnerabilityItem is one finding.
type VulnerabilityItem struct {
	ID            string   `json:"id"`
	Package       string   `json:"package"`
	Version       string   `json:"version"`
	FixVersion    string   `json:"fix_version,omitempty"`
	Status        string   `json:"status,omitempty" doc:"berth: the vendor's word on a fix: fixed, affected, will_not_fix, fix_deferred, end_of_life, under_investigation"`
	Severity      string   `json:"severity"`
	Description   string   `json:"description,omitempty"`
	Links         []string `json:"links,omitempty"`
	PreferredCVSS *CVSS    `json:"preferred_cvss,omitempty"`
	CWEIDs        []string `json:"cwe_ids,omitempty"`
	Title         string   `json:"title,omitempty"`
	PURL          string   `json:"purl,omitempty"`
	LayerDigest   string   `json:"layer_digest,omitempty"`
	Allowlisted   bool     `json:"allowlisted,omitempty" doc:"berth: on the allowlist the project's gate applies"`
}

// VulnerabilityReport is a report as the vulnerabilities addition shows
// it, under its media type.
type VulnerabilityReport struct {
	GeneratedAt     time.Time            `json:"generated_at"`
	Scanner         ScannerInfo          `json:"scanner"`
	DBVersion       string               `json:"db_version"`
	Severity        string               `json:"severity"`
	Summary         VulnerabilitySummary `json:"summary" doc:"counts of the whole report, before filters"`
	Total           int                  `json:"total" doc:"findings matching the filters"`
	Vulnerabilities []VulnerabilityItem  `json:"vulnerabilities"`
	Overview        *NativeReportSummary `json:"overview,omitempty"`
}

// ScanScheduleObj is when scan-all runs.
type ScanScheduleObj struct {
	Type string `json:"type" doc:"None, Hourly, Daily, Weekly, Custom (with cron), or Manual (run now; POST only)"`
	Cron string `json:"cron,omitempty" doc:"cron expression in UTC, seconds field optional first: \"0 0 2 * * *\""`
}

// ScanAllSchedule wraps the schedule as Harbor does.
type ScanAllSchedule struct {
	Schedule *ScanScheduleObj `json:"schedule"`
}

// ScanAllMetrics describes the latest scan-all (Harbor's Stats).
type ScanAllMetrics struct {
	Total     int64            `json:"total" doc:"scans the run queued"`
	Completed int64            `json:"completed" doc:"of which finished: Success, Error or Stopped"`
	Metrics   map[string]int64 `json:"metrics,omitempty" doc:"scans by status: Pending, Running, Success, Error, Stopped"`
	Ongoing   bool             `json:"ongoing"`
	Trigger   string           `json:"trigger,omitempty" doc:"MANUAL or SCHEDULE"`
	Task      *ScanTaskInfo    `json:"task,omitempty" doc:"berth: the scan-all task itself"`
}

// CVEAllowlistItem is one allowlisted vulnerability.
type CVEAllowlistItem struct {
	CVEID string `json:"cve_id"`
}

// CVEAllowlist is the system's or a project's allowlist.
type CVEAllowlist struct {
	ProjectID  int64              `json:"project_id" doc:"0 for the system allowlist"`
	ExpiresAt  *int64             `json:"expires_at" doc:"Unix seconds; null: never expires"`
	Items      []CVEAllowlistItem `json:"items"`
	UpdateTime time.Time          `json:"update_time,omitzero"`
}

// ScannerRegistration is a registered scanner.
type ScannerRegistration struct {
	UUID        string    `json:"uuid"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	URL         string    `json:"url" doc:"empty for the built-in scanner"`
	Auth        string    `json:"auth" doc:"\"\", Basic, Bearer or X-ScannerAdapter-API-Key"`
	Disabled    bool      `json:"disabled"`
	IsDefault   bool      `json:"is_default"`
	SkipCert    bool      `json:"skip_certVerify"`
	UseInternal bool      `json:"use_internal_addr"`
	Builtin     bool      `json:"builtin" doc:"berth: the scanner compiled into the server"`
	CreateTime  time.Time `json:"create_time,omitzero"`
	UpdateTime  time.Time `json:"update_time,omitzero"`
}

// ScannerRegistrationReq registers or changes a scanner adapter.
type ScannerRegistrationReq struct {
	Name             string `json:"name"`
	Description      string `json:"description"`
	URL              string `json:"url" doc:"the adapter's root, e.g. http://trivy-adapter:8080"`
	Auth             string `json:"auth"`
	AccessCredential string `json:"access_credential" doc:"user:password for Basic, else the token or key; empty on update keeps it"`
	SkipCert         bool   `json:"skip_certVerify"`
	UseInternal      bool   `json:"use_internal_addr"`
	Disabled         bool   `json:"disabled"`
	IsDefault        bool   `json:"is_default,omitempty"`
}

// IsDefault makes a scanner the default.
type IsDefault struct {
	IsDefault bool `json:"is_default"`
}

// ProjectScanner names the scanner a project uses.
type ProjectScanner struct {
	UUID string `json:"uuid" doc:"a registration's uuid; empty: the default scanner"`
}

// ScannerCapability is what a scanner reads and writes.
type ScannerCapability struct {
	ConsumesMIMETypes []string `json:"consumes_mime_types"`
	ProducesMIMETypes []string `json:"produces_mime_types"`
}

// ScannerAdapterMetadata is what a scanner says of itself.
type ScannerAdapterMetadata struct {
	Scanner      ScannerInfo         `json:"scanner"`
	Capabilities []ScannerCapability `json:"capabilities"`
	Properties   map[string]string   `json:"properties"`
}

// ArtifactScanState is an artifact's scan and SBOM overviews.
type ArtifactScanState struct {
	ScanOverview map[string]*NativeReportSummary `json:"scan_overview,omitempty" doc:"by report media type; absent when never scanned"`
	SBOMOverview *SBOMOverview                   `json:"sbom_overview,omitempty"`
}

// SBOMOverview is an artifact's SBOM state, as Harbor shows it with each
// artifact.
type SBOMOverview struct {
	ReportID   string    `json:"report_id"`
	ScanStatus string    `json:"scan_status"`
	StartTime  time.Time `json:"start_time,omitzero"`
	EndTime    time.Time `json:"end_time,omitzero"`
	Duration   int64     `json:"duration" doc:"seconds"`
	Scanner    string    `json:"scanner,omitempty" doc:"the registration's uuid"`
}
