package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
)

// ScanTasks runs and inspects scan and SBOM tasks.
type ScanTasks interface {
	ScanImages(ctx context.Context, a scan.Artifact, t scan.Trigger) ([]scan.Task, error)
	StopScan(ctx context.Context, digest string) (scan.Task, error)
	GenerateSBOM(ctx context.Context, a scan.Artifact, t scan.Trigger) (scan.Task, error)
	StopSBOM(ctx context.Context, digest string) (scan.Task, error)
	Task(ctx context.Context, id int64) (scan.Task, error)
	TaskLog(ctx context.Context, id int64) (string, error)
	LatestTask(ctx context.Context, digest string, kind scan.TaskKind) (scan.Task, bool, error)
}

// ScanReports reads reports and SBOMs.
type ScanReports interface {
	Report(ctx context.Context, digest string) (*scan.Report, scan.ReportInfo, error)
	ReportInfo(ctx context.Context, digest string) (scan.ReportInfo, bool, error)
	FetchSBOM(ctx context.Context, a scan.Artifact, format string) ([]byte, error)
}

// ScanAll runs and schedules scans of every artifact.
type ScanAll interface {
	ScanAll(ctx context.Context, t scan.Trigger) (scan.Task, error)
	StopScanAll(ctx context.Context) (scan.Task, error)
	ScanAllSchedule(ctx context.Context) (scan.Schedule, error)
	SetScanAllSchedule(ctx context.Context, s scan.Schedule) (scan.Schedule, error)
}

// Scanners is the registry of scanners and the projects' choices.
type Scanners interface {
	Scanners(ctx context.Context) ([]scan.Registration, error)
	Scanner(ctx context.Context, id string) (scan.Registration, error)
	AddScanner(ctx context.Context, r scan.Registration) (scan.Registration, error)
	UpdateScanner(ctx context.Context, id string, r scan.Registration) (scan.Registration, error)
	DeleteScanner(ctx context.Context, id string) error
	SetDefaultScanner(ctx context.Context, id string) error
	ScannerMetadata(ctx context.Context, id string) (scan.Metadata, error)
	PingScanner(ctx context.Context, r scan.Registration) (scan.Metadata, error)
	ProjectScanner(ctx context.Context, project string) (scan.Registration, error)
	SetProjectScanner(ctx context.Context, project, id string) error
}

// CVEAllowlists keeps the system allowlist (project "") and the
// projects'.
type CVEAllowlists interface {
	Allowlist(ctx context.Context, project string) (scan.Allowlist, error)
	SetAllowlist(ctx context.Context, project string, a scan.Allowlist) (scan.Allowlist, error)
}

// Scanning is everything the scanning endpoints use; *scan.Service
// implements it.
type Scanning interface {
	ScanTasks
	ScanReports
	ScanAll
	Scanners
	CVEAllowlists
}

// scanDeps are the components behind the vulnerability scanning endpoints.
type scanDeps struct {
	svc Scanning
}

// WithScanning serves the vulnerability scanning endpoints: scans and
// their logs, reports, SBOMs, scan-all and its schedule, scanner
// registrations and CVE allowlists.
func WithScanning(s Scanning) Option { return func(c *config) { c.scan = scanDeps{svc: s} } }

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

func scanTaskJSON(t scan.Task) ScanTaskInfo {
	return ScanTaskInfo{ReportID: strconv.FormatInt(t.ID, 10), ScanType: string(t.Kind), ScanStatus: string(t.Status),
		Trigger: string(t.Trigger), Scanner: t.Scanner, Message: t.Message, CreateTime: t.CreatedAt, StartTime: t.StartedAt,
		EndTime: t.EndedAt}
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

// ScanAllMetrics describes the latest scan-all.
type ScanAllMetrics struct {
	Ongoing bool          `json:"ongoing"`
	Trigger string        `json:"trigger,omitempty"`
	Task    *ScanTaskInfo `json:"task,omitempty"`
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

const (
	pScanner     = "/scanners/{registration_id}"
	reportMIME11 = "application/vnd.security.vulnerability.report; version=1.1"
)

// scanRoutes are the vulnerability scanning endpoints, when WithScanning
// supplied the component behind them.
func (a *API) scanRoutes() []route {
	if a.cfg.scan.svc == nil {
		return nil
	}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	return []route{
		{method: post, path: pArt + "/scan", id: "scanArtifact", tag: "scan",
			summary: "Scan an artifact for vulnerabilities, or generate its SBOMs (scan_type sbom)", body: ScanType{},
			resp: ScanTaskInfo{}, status: http.StatusAccepted, handle: a.scanArtifact},
		{method: get, path: pArt + "/scan", id: "getArtifactScanState", tag: "scan",
			summary: "berth: the artifact's scan and SBOM overviews, as the artifact listing shows them",
			resp:    ArtifactScanState{}, handle: a.scanState},
		{method: post, path: pArt + "/scan/stop", id: "stopScanArtifact", tag: "scan",
			summary: "Stop an artifact's scan (or SBOM generation) in progress", body: ScanType{}, resp: ScanTaskInfo{},
			status: http.StatusAccepted, handle: a.stopScanArtifact},
		{method: get, path: pArt + "/scan/{report_id}", id: "getScanTask", tag: "scan",
			summary: "The status of one of the artifact's scan or SBOM tasks", resp: ScanTaskInfo{}, handle: a.scanTask},
		{method: get, path: pArt + "/scan/{report_id}/log", id: "getReportLog", tag: "scan",
			summary: "The log of one of the artifact's scan tasks", text: true, handle: a.scanLog},
		{method: get, path: pArt + "/additions/vulnerabilities", id: "getVulnerabilitiesAddition", tag: "scan",
			summary: "The artifact's latest vulnerability report under its media type ({} when never scanned)",
			query: []param{{"severity", "string", "Keep findings of this severity or above", false},
				{"fixable", "boolean", "Keep findings with (true) or without (false) a fix", false},
				{"cve", "string", "Keep findings whose ID contains this", false},
				{"package", "string", "Keep findings in packages whose name contains this", false}},
			resp: map[string]VulnerabilityReport{}, handle: a.vulnerabilities},
		{method: get, path: pArt + "/additions/sbom", id: "getSBOMAddition", tag: "scan",
			summary: "Download the artifact's SBOM, stored as an OCI referrer",
			query:   []param{{"format", "string", "spdx (default) or cyclonedx", false}},
			resp:    map[string]any{}, handle: a.sbom},

		{method: get, path: "/system/scanAll/schedule", id: "getScanAllSchedule", tag: "scanAll",
			summary: "When scan-all runs", resp: ScanAllSchedule{}, handle: a.getScanAllSchedule},
		{method: put, path: "/system/scanAll/schedule", id: "updateScanAllSchedule", tag: "scanAll",
			summary: "Set when scan-all runs (system admins)", body: ScanAllSchedule{}, handle: a.setScanAllSchedule},
		{method: post, path: "/system/scanAll/schedule", id: "createScanAllSchedule", tag: "scanAll",
			summary: "Set when scan-all runs, or run it now with type Manual (system admins)", body: ScanAllSchedule{},
			status: http.StatusCreated, handle: a.setScanAllSchedule},
		{method: post, path: "/system/scanAll/now", id: "runScanAll", tag: "scanAll",
			summary: "Scan every artifact now (system admins)", resp: ScanTaskInfo{}, status: http.StatusAccepted, handle: a.scanAllNow},
		{method: post, path: "/system/scanAll/stop", id: "stopScanAll", tag: "scanAll",
			summary: "Stop a scan-all in progress (system admins)", status: http.StatusAccepted, handle: a.stopScanAll},
		{method: get, path: "/scans/all/metrics", id: "getLatestScanAllMetrics", tag: "scanAll",
			summary: "The latest scan-all (system admins)", resp: ScanAllMetrics{}, handle: a.scanAllMetrics},

		{method: get, path: "/scanners", id: "listScanners", tag: "scanner", summary: "List scanners (system admins)",
			resp: []ScannerRegistration{}, handle: a.listScanners},
		{method: post, path: "/scanners", id: "createScanner", tag: "scanner",
			summary: "Register a Harbor pluggable scanner adapter (system admins)", body: ScannerRegistrationReq{},
			resp: ScannerRegistration{}, status: http.StatusCreated, handle: a.createScanner},
		{method: post, path: "/scanners/ping", id: "pingScanner", tag: "scanner",
			summary: "Ask an adapter for its metadata before registering it (system admins)", body: ScannerRegistrationReq{},
			resp: ScannerAdapterMetadata{}, handle: a.pingScanner},
		{method: get, path: pScanner, id: "getScanner", tag: "scanner", summary: "Get a scanner (system admins)",
			resp: ScannerRegistration{}, handle: a.getScanner},
		{method: put, path: pScanner, id: "updateScanner", tag: "scanner", summary: "Change a scanner adapter (system admins)",
			body: ScannerRegistrationReq{}, resp: ScannerRegistration{}, handle: a.updateScanner},
		{method: http.MethodPatch, path: pScanner, id: "setScannerAsDefault", tag: "scanner",
			summary: "Make a scanner the default (system admins)", body: IsDefault{}, handle: a.setDefaultScanner},
		{method: del, path: pScanner, id: "deleteScanner", tag: "scanner", summary: "Remove a scanner adapter (system admins)",
			resp: ScannerRegistration{}, handle: a.deleteScanner},
		{method: get, path: pScanner + "/metadata", id: "getScannerMetadata", tag: "scanner",
			summary: "Ask a scanner for its metadata (system admins)", resp: ScannerAdapterMetadata{}, handle: a.scannerMetadata},
		{method: get, path: pProject + "/scanner", id: "getScannerOfProject", tag: "scanner",
			summary: "The scanner the project uses", resp: ScannerRegistration{}, handle: a.getProjectScanner},
		{method: put, path: pProject + "/scanner", id: "setScannerOfProject", tag: "scanner",
			summary: "Choose the project's scanner (project admins)", body: ProjectScanner{}, handle: a.setProjectScanner},

		{method: get, path: "/system/CVEAllowlist", id: "getSystemCVEAllowlist", tag: "system",
			summary: "The system CVE allowlist (signed-in users)", resp: CVEAllowlist{}, handle: a.getSystemAllowlist},
		{method: put, path: "/system/CVEAllowlist", id: "updateSystemCVEAllowlist", tag: "system",
			summary: "Replace the system CVE allowlist (system admins)", body: CVEAllowlist{}, handle: a.setSystemAllowlist},
		{method: get, path: pProject + "/cve-allowlist", id: "getProjectCVEAllowlist", tag: "project",
			summary: "The project's own CVE allowlist (used unless the project reuses the system's)", resp: CVEAllowlist{},
			handle: a.getProjectAllowlist},
		{method: put, path: pProject + "/cve-allowlist", id: "updateProjectCVEAllowlist", tag: "project",
			summary: "Replace the project's CVE allowlist (project admins)", body: CVEAllowlist{}, handle: a.setProjectAllowlist},
	}
}

// scanErr maps the scan package's errors to answers.
func scanErr(err error) error {
	if err == nil {
		return nil
	}
	msg := strings.TrimPrefix(err.Error(), "scan: ")
	switch {
	case errors.Is(err, scan.ErrNotFound):
		return notFound(msg)
	case errors.Is(err, scan.ErrExists):
		return &apiError{http.StatusConflict, codeConflict, msg}
	case errors.Is(err, scan.ErrInvalid):
		return badRequest(msg)
	case errors.Is(err, scan.ErrNoScanner), errors.Is(err, scan.ErrUnsupported), errors.Is(err, scan.ErrNotScannable):
		return &apiError{http.StatusPreconditionFailed, codePrecondition, msg}
	}
	return err
}

// scanTarget resolves the request's artifact after checking perm.
func (a *API) scanTarget(c *call, perm rbac.Permission) (project.Project, scan.Artifact, *registry.Artifact, error) {
	p, art, err := a.artifact(c, perm)
	if err != nil {
		return p, scan.Artifact{}, nil, err
	}
	return p, scan.Artifact{Repository: art.Repository, Digest: art.Digest, MediaType: art.MediaType}, art, nil
}

// scanTypeOf reads an optional ScanType body.
func scanTypeOf(c *call) (scan.TaskKind, error) {
	var st ScanType
	if c.r.ContentLength != 0 {
		if err := decodeBody(c.w, c.r, &st); err != nil && !isEmptyBody(err) {
			return "", err
		}
	}
	switch st.ScanType {
	case "", "vulnerability":
		return scan.KindVulnerability, nil
	case "sbom":
		return scan.KindSBOM, nil
	}
	return "", badRequest(fmt.Sprintf("scan_type %q: want vulnerability or sbom", st.ScanType))
}

func scanResource(kind scan.TaskKind) rbac.Resource {
	if kind == scan.KindSBOM {
		return rbac.ResourceSBOM
	}
	return rbac.ResourceScan
}

func (a *API) scanArtifact(c *call) error {
	kind, err := scanTypeOf(c)
	if err != nil {
		return err
	}
	_, art, ra, err := a.scanTarget(c, permOn(scanResource(kind), rbac.ActionCreate))
	if err != nil {
		return err
	}
	if ra.Subject != "" || (!scan.Scannable(ra.MediaType, ra.ArtifactType) && !scan.IsIndex(ra.MediaType)) {
		return &apiError{http.StatusPreconditionFailed, codePrecondition, fmt.Sprintf(
			"%s@%s is not a container image manifest (media type %s, artifact type %q); scan the image manifests of an index one by one",
			art.Repository, art.Digest, ra.MediaType, ra.ArtifactType)}
	}
	if kind == scan.KindSBOM {
		if scan.IsIndex(ra.MediaType) {
			return &apiError{http.StatusPreconditionFailed, codePrecondition,
				"SBOMs are written for image manifests; ask for those of the index's platform manifests"}
		}
		t, err := a.cfg.scan.svc.GenerateSBOM(c.ctx(), art, scan.TriggerManual)
		if err != nil {
			return scanErr(err)
		}
		return c.json(http.StatusAccepted, scanTaskJSON(t))
	}
	ts, err := a.cfg.scan.svc.ScanImages(c.ctx(), art, scan.TriggerManual)
	if err != nil {
		return scanErr(err)
	}
	if !scan.IsIndex(ra.MediaType) && len(ts) == 1 {
		return c.json(http.StatusAccepted, scanTaskJSON(ts[0]))
	}
	out := ScanTaskInfo{ScanType: string(scan.KindVulnerability), ScanStatus: string(scan.StatusPending),
		Trigger: string(scan.TriggerManual), CreateTime: a.cfg.now().UTC()}
	for _, t := range ts {
		out.Children = append(out.Children, scanTaskJSON(t))
	}
	return c.json(http.StatusAccepted, out)
}

func (a *API) stopScanArtifact(c *call) error {
	kind, err := scanTypeOf(c)
	if err != nil {
		return err
	}
	_, art, _, err := a.scanTarget(c, permOn(scanResource(kind), rbac.ActionStop))
	if err != nil {
		return err
	}
	var t scan.Task
	if kind == scan.KindSBOM {
		t, err = a.cfg.scan.svc.StopSBOM(c.ctx(), art.Digest.String())
	} else {
		t, err = a.cfg.scan.svc.StopScan(c.ctx(), art.Digest.String())
	}
	if err != nil {
		return scanErr(err)
	}
	return c.json(http.StatusAccepted, scanTaskJSON(t))
}

// artifactTask resolves the request's {report_id}, a task of its artifact.
func (a *API) artifactTask(c *call) (scan.Task, error) {
	_, art, _, err := a.scanTarget(c, permOn(rbac.ResourceScan, rbac.ActionRead))
	if err != nil {
		return scan.Task{}, err
	}
	id, err := strconv.ParseInt(c.r.PathValue("report_id"), 10, 64)
	if err != nil {
		return scan.Task{}, notFound(fmt.Sprintf("report %q does not exist", c.r.PathValue("report_id")))
	}
	t, err := a.cfg.scan.svc.Task(c.ctx(), id)
	if err != nil {
		return t, scanErr(err)
	}
	if t.Artifact.Digest != art.Digest {
		return t, notFound(fmt.Sprintf("report %d is not one of %s@%s", id, art.Repository, art.Digest))
	}
	return t, nil
}

func (a *API) scanTask(c *call) error {
	t, err := a.artifactTask(c)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, scanTaskJSON(t))
}

func (a *API) scanLog(c *call) error {
	t, err := a.artifactTask(c)
	if err != nil {
		return err
	}
	log, err := a.cfg.scan.svc.TaskLog(c.ctx(), t.ID)
	if err != nil {
		return scanErr(err)
	}
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(log))
	return nil
}

// vulnFilter is the vulnerabilities addition's query.
type vulnFilter struct {
	min     scan.Severity
	fixable *bool
	cve     string
	pkg     string
}

func parseVulnFilter(c *call) (vulnFilter, error) {
	q := c.r.URL.Query()
	var f vulnFilter
	if s := q.Get("severity"); s != "" {
		sev, err := scan.ParseSeverity(s)
		if err != nil {
			return f, badRequest(fmt.Sprintf("severity %q: want Unknown, Negligible, Low, Medium, High or Critical", s))
		}
		f.min = sev
	}
	if s := q.Get("fixable"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return f, badRequest(fmt.Sprintf("fixable %q: want true or false", s))
		}
		f.fixable = &b
	}
	f.cve, f.pkg = strings.ToUpper(q.Get("cve")), strings.ToLower(q.Get("package"))
	return f, nil
}

func (f vulnFilter) keep(v scan.Vulnerability) bool {
	return v.Severity >= f.min &&
		(f.fixable == nil || *f.fixable == (v.FixVersion != "")) &&
		(f.cve == "" || strings.Contains(strings.ToUpper(v.ID), f.cve)) &&
		(f.pkg == "" || strings.Contains(strings.ToLower(v.Package), f.pkg))
}

func summaryJSON(s scan.Summary) VulnerabilitySummary {
	out := VulnerabilitySummary{Total: s.Total, Fixable: s.Fixable, Summary: map[string]int{}}
	for sev, n := range s.Counts {
		out.Summary[sev.String()] = n
	}
	return out
}

func (a *API) vulnerabilities(c *call) error {
	f, err := parseVulnFilter(c)
	if err != nil {
		return err
	}
	p, art, _, err := a.scanTarget(c, permOn(rbac.ResourceScan, rbac.ActionRead))
	if err != nil {
		return err
	}
	r, info, err := a.cfg.scan.svc.Report(c.ctx(), art.Digest.String())
	if errors.Is(err, scan.ErrNotFound) {
		return c.json(http.StatusOK, map[string]VulnerabilityReport{})
	}
	if err != nil {
		return err
	}
	allow, err := a.effectiveAllowlist(c.ctx(), p)
	if err != nil {
		return err
	}
	out := VulnerabilityReport{GeneratedAt: r.GeneratedAt, Scanner: ScannerInfo(r.Scanner), DBVersion: r.DBVersion,
		Severity: r.Severity.String(), Summary: summaryJSON(info.Summary), Vulnerabilities: []VulnerabilityItem{},
		Overview: a.overview(c.ctx(), art.Digest)}
	now := a.cfg.now()
	for _, v := range r.Vulnerabilities {
		if !f.keep(v) {
			continue
		}
		it := VulnerabilityItem{ID: v.ID, Package: v.Package, Version: v.Version, FixVersion: v.FixVersion,
			Severity: v.Severity.String(), Description: v.Description, Links: v.Links, CWEIDs: v.CWEIDs, Title: v.Title,
			PURL: v.PURL, Allowlisted: allow.Active(now) && allow.Contains(v.ID)}
		if v.CVSS != nil {
			it.PreferredCVSS = &CVSS{ScoreV3: v.CVSS.ScoreV3, ScoreV2: v.CVSS.ScoreV2, VectorV3: v.CVSS.VectorV3, VectorV2: v.CVSS.VectorV2}
		}
		if v.Layer != nil {
			it.LayerDigest = v.Layer.Digest.String()
		}
		out.Vulnerabilities = append(out.Vulnerabilities, it)
	}
	out.Total = len(out.Vulnerabilities)
	return c.json(http.StatusOK, map[string]VulnerabilityReport{reportMIME11: out})
}

// effectiveAllowlist is the allowlist the project's gate applies.
func (a *API) effectiveAllowlist(ctx context.Context, p project.Project) (scan.Allowlist, error) {
	key := p.Name
	if p.Metadata.ReuseSysCVEAllowlist {
		key = ""
	}
	return a.cfg.scan.svc.Allowlist(ctx, key)
}

func (a *API) sbom(c *call) error {
	format := scan.SPDXJSON
	switch f := c.r.URL.Query().Get("format"); f {
	case "", "spdx", scan.SPDXJSON:
	case "cyclonedx", scan.CycloneDXJSON:
		format = scan.CycloneDXJSON
	default:
		return badRequest(fmt.Sprintf("format %q: want spdx or cyclonedx", f))
	}
	_, art, _, err := a.scanTarget(c, permOn(rbac.ResourceSBOM, rbac.ActionRead))
	if err != nil {
		return err
	}
	b, err := a.cfg.scan.svc.FetchSBOM(c.ctx(), art, format)
	if err != nil {
		return scanErr(err)
	}
	c.w.Header().Set("Content-Type", format)
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b)
	return nil
}

// overview is the artifact's scan overview, or nil when nothing is known.
func (a *API) overview(ctx context.Context, d digest.Digest) *NativeReportSummary {
	svc := a.cfg.scan.svc
	if svc == nil {
		return nil
	}
	t, hasTask, err := svc.LatestTask(ctx, d.String(), scan.KindVulnerability)
	if err != nil {
		a.cfg.log.WarnContext(ctx, "scan overview", "digest", d, "err", err)
		return nil
	}
	info, hasReport, err := svc.ReportInfo(ctx, d.String())
	if err != nil {
		a.cfg.log.WarnContext(ctx, "scan overview", "digest", d, "err", err)
		return nil
	}
	if !hasTask && !hasReport {
		return nil
	}
	out := &NativeReportSummary{ScanStatus: string(scan.StatusSuccess)}
	if hasTask {
		out.ReportID = strconv.FormatInt(t.ID, 10)
		out.ScanStatus = string(t.Status)
		out.StartTime, out.EndTime = t.StartedAt, t.EndedAt
		if !t.StartedAt.IsZero() && !t.EndedAt.IsZero() {
			out.Duration = int64(t.EndedAt.Sub(t.StartedAt).Round(time.Second) / time.Second)
		}
	}
	if t.Status.Finished() || !hasTask {
		out.CompletePercent = 100
	}
	if hasReport {
		s := summaryJSON(info.Summary)
		out.Summary = &s
		out.Severity = info.Summary.Severity.String()
		out.DBVersion = info.DBVersion
		if reg, err := svc.Scanner(ctx, info.Scanner); err == nil {
			out.Scanner = &ScannerInfo{Name: reg.Name}
		}
	}
	return out
}

// scanOverview is what the artifact listing shows under scan_overview for
// the artifact repo@d: the summary per severity of its latest report and
// the state of its latest scan, keyed by the report media type as Harbor
// does; nil when scanning is not wired or the artifact was never scanned.
// (Reports are keyed by digest, so repo is not needed to find them.)
func (a *API) scanOverview(ctx context.Context, _ string, d digest.Digest) map[string]any {
	o := a.overview(ctx, d)
	if o == nil {
		return nil
	}
	return map[string]any{reportMIME11: o}
}

// ArtifactScanState is an artifact's scan and SBOM overviews.
type ArtifactScanState struct {
	ScanOverview map[string]*NativeReportSummary `json:"scan_overview,omitempty" doc:"by report media type; absent when never scanned"`
	SBOMOverview *SBOMOverview                   `json:"sbom_overview,omitempty"`
}

func (a *API) scanState(c *call) error {
	_, art, _, err := a.scanTarget(c, permOn(rbac.ResourceScan, rbac.ActionRead))
	if err != nil {
		return err
	}
	var out ArtifactScanState
	if o := a.overview(c.ctx(), art.Digest); o != nil {
		out.ScanOverview = map[string]*NativeReportSummary{reportMIME11: o}
	}
	out.SBOMOverview = a.sbomOverview(c.ctx(), art.Repository, art.Digest)
	return c.json(http.StatusOK, out)
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

// sbomOverview is what the artifact listing shows under sbom_overview for
// repo@d: the state of its latest SBOM task; nil when scanning is not
// wired or no SBOM was asked for.
func (a *API) sbomOverview(ctx context.Context, _ string, d digest.Digest) *SBOMOverview {
	svc := a.cfg.scan.svc
	if svc == nil {
		return nil
	}
	t, ok, err := svc.LatestTask(ctx, d.String(), scan.KindSBOM)
	if err != nil {
		a.cfg.log.WarnContext(ctx, "SBOM overview", "digest", d, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	out := &SBOMOverview{ReportID: strconv.FormatInt(t.ID, 10), ScanStatus: string(t.Status), StartTime: t.StartedAt,
		EndTime: t.EndedAt, Scanner: t.Scanner}
	if !t.StartedAt.IsZero() && !t.EndedAt.IsZero() {
		out.Duration = int64(t.EndedAt.Sub(t.StartedAt).Round(time.Second) / time.Second)
	}
	return out
}

func scheduleJSON(s scan.Schedule) ScanAllSchedule {
	return ScanAllSchedule{Schedule: &ScanScheduleObj{Type: s.Type, Cron: s.Cron}}
}

func (a *API) getScanAllSchedule(c *call) error {
	if err := c.requireAdmin(permOn(rbac.ResourceConfiguration, rbac.ActionRead)); err != nil {
		return err
	}
	s, err := a.cfg.scan.svc.ScanAllSchedule(c.ctx())
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, scheduleJSON(s))
}

func (a *API) setScanAllSchedule(c *call) error {
	if err := c.requireAdmin(permOn(rbac.ResourceConfiguration, rbac.ActionUpdate)); err != nil {
		return err
	}
	var req ScanAllSchedule
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	if req.Schedule == nil {
		return badRequest("schedule is required: {\"schedule\":{\"type\":\"Daily\"}}")
	}
	if req.Schedule.Type == "Manual" {
		if c.r.Method != http.MethodPost {
			return badRequest("type Manual runs scan-all now: use POST")
		}
		t, err := a.cfg.scan.svc.ScanAll(c.ctx(), scan.TriggerManual)
		if err != nil {
			return scanErr(err)
		}
		return c.json(http.StatusCreated, scanTaskJSON(t))
	}
	s, err := a.cfg.scan.svc.SetScanAllSchedule(c.ctx(), scan.Schedule{Type: req.Schedule.Type, Cron: req.Schedule.Cron})
	if err != nil {
		return scanErr(err)
	}
	status := http.StatusOK
	if c.r.Method == http.MethodPost {
		status = http.StatusCreated
	}
	return c.json(status, scheduleJSON(s))
}

func (a *API) scanAllNow(c *call) error {
	if err := c.requireAdmin(permOn(rbac.ResourceConfiguration, rbac.ActionUpdate)); err != nil {
		return err
	}
	t, err := a.cfg.scan.svc.ScanAll(c.ctx(), scan.TriggerManual)
	if err != nil {
		return scanErr(err)
	}
	return c.json(http.StatusAccepted, scanTaskJSON(t))
}

func (a *API) stopScanAll(c *call) error {
	if err := c.requireAdmin(permOn(rbac.ResourceConfiguration, rbac.ActionUpdate)); err != nil {
		return err
	}
	if _, err := a.cfg.scan.svc.StopScanAll(c.ctx()); err != nil {
		return scanErr(err)
	}
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *API) scanAllMetrics(c *call) error {
	if err := c.requireAdmin(permOn(rbac.ResourceConfiguration, rbac.ActionRead)); err != nil {
		return err
	}
	t, ok, err := a.cfg.scan.svc.LatestTask(c.ctx(), "", scan.KindScanAll)
	if err != nil {
		return err
	}
	var out ScanAllMetrics
	if ok {
		ti := scanTaskJSON(t)
		out = ScanAllMetrics{Ongoing: !t.Status.Finished(), Trigger: string(t.Trigger), Task: &ti}
	}
	return c.json(http.StatusOK, out)
}

func registrationJSON(r scan.Registration) ScannerRegistration {
	return ScannerRegistration{UUID: r.ID, Name: r.Name, Description: r.Description, URL: r.URL, Auth: r.Auth,
		Disabled: r.Disabled, IsDefault: r.Default, SkipCert: r.SkipVerify, UseInternal: r.UseInternal, Builtin: r.Builtin,
		CreateTime: r.CreatedAt, UpdateTime: r.UpdatedAt}
}

func registrationOf(req ScannerRegistrationReq) scan.Registration {
	return scan.Registration{Name: req.Name, Description: req.Description, URL: req.URL, Auth: req.Auth,
		Credential: req.AccessCredential, SkipVerify: req.SkipCert, UseInternal: req.UseInternal, Disabled: req.Disabled,
		Default: req.IsDefault}
}

func metadataJSON(md scan.Metadata) ScannerAdapterMetadata {
	props := md.Properties
	if props == nil {
		props = map[string]string{}
	}
	return ScannerAdapterMetadata{Scanner: ScannerInfo(md.Scanner), Properties: props,
		Capabilities: []ScannerCapability{{ConsumesMIMETypes: nonNil(md.Consumes), ProducesMIMETypes: nonNil(md.Produces)}}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// scannerAdmin lets system admins manage scanners.
func (c *call) scannerAdmin(act rbac.Action) error {
	return c.requireAdmin(permOn(rbac.ResourceScanner, act))
}

func (a *API) listScanners(c *call) error {
	if err := c.scannerAdmin(rbac.ActionList); err != nil {
		return err
	}
	regs, err := a.cfg.scan.svc.Scanners(c.ctx())
	if err != nil {
		return err
	}
	out := make([]ScannerRegistration, 0, len(regs))
	for _, r := range regs {
		out = append(out, registrationJSON(r))
	}
	return c.json(http.StatusOK, out)
}

func (a *API) createScanner(c *call) error {
	if err := c.scannerAdmin(rbac.ActionCreate); err != nil {
		return err
	}
	var req ScannerRegistrationReq
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	r, err := a.cfg.scan.svc.AddScanner(c.ctx(), registrationOf(req))
	if err != nil {
		return scanErr(err)
	}
	return c.created(BasePath+"/scanners/"+url.PathEscape(r.ID), registrationJSON(r))
}

func (a *API) pingScanner(c *call) error {
	if err := c.scannerAdmin(rbac.ActionCreate); err != nil {
		return err
	}
	var req ScannerRegistrationReq
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = "ping"
	}
	md, err := a.cfg.scan.svc.PingScanner(c.ctx(), registrationOf(req))
	if err != nil {
		return scannerUnreachable(err)
	}
	return c.json(http.StatusOK, metadataJSON(md))
}

// scannerUnreachable answers a scanner that did not answer well.
func scannerUnreachable(err error) error {
	if e := scanErr(err); e != err {
		return e
	}
	return &apiError{http.StatusServiceUnavailable, codeUnavailable, "the scanner did not answer: " + err.Error()}
}

func (a *API) getScanner(c *call) error {
	if err := c.scannerAdmin(rbac.ActionRead); err != nil {
		return err
	}
	r, err := a.cfg.scan.svc.Scanner(c.ctx(), c.r.PathValue("registration_id"))
	if err != nil {
		return scanErr(err)
	}
	return c.json(http.StatusOK, registrationJSON(r))
}

func (a *API) updateScanner(c *call) error {
	if err := c.scannerAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	var req ScannerRegistrationReq
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	r, err := a.cfg.scan.svc.UpdateScanner(c.ctx(), c.r.PathValue("registration_id"), registrationOf(req))
	if err != nil {
		return scanErr(err)
	}
	return c.json(http.StatusOK, registrationJSON(r))
}

func (a *API) setDefaultScanner(c *call) error {
	if err := c.scannerAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	var req IsDefault
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	if !req.IsDefault {
		return badRequest("is_default must be true: make another scanner the default instead")
	}
	return a.okOr(c, scanErr(a.cfg.scan.svc.SetDefaultScanner(c.ctx(), c.r.PathValue("registration_id"))))
}

func (a *API) deleteScanner(c *call) error {
	if err := c.scannerAdmin(rbac.ActionDelete); err != nil {
		return err
	}
	id := c.r.PathValue("registration_id")
	r, err := a.cfg.scan.svc.Scanner(c.ctx(), id)
	if err != nil {
		return scanErr(err)
	}
	if err := a.cfg.scan.svc.DeleteScanner(c.ctx(), id); err != nil {
		return scanErr(err)
	}
	return c.json(http.StatusOK, registrationJSON(r))
}

func (a *API) scannerMetadata(c *call) error {
	if err := c.scannerAdmin(rbac.ActionRead); err != nil {
		return err
	}
	md, err := a.cfg.scan.svc.ScannerMetadata(c.ctx(), c.r.PathValue("registration_id"))
	if err != nil {
		return scannerUnreachable(err)
	}
	return c.json(http.StatusOK, metadataJSON(md))
}

func (a *API) getProjectScanner(c *call) error {
	p, err := c.project()
	if err != nil {
		return err
	}
	if err := c.require(p.Name, "", permOn(rbac.ResourceScanner, rbac.ActionRead)); err != nil {
		return err
	}
	r, err := a.cfg.scan.svc.ProjectScanner(c.ctx(), p.Name)
	if errors.Is(err, scan.ErrNoScanner) {
		return notFound(strings.TrimPrefix(err.Error(), "scan: "))
	}
	if err != nil {
		return scanErr(err)
	}
	return c.json(http.StatusOK, registrationJSON(r))
}

func (a *API) setProjectScanner(c *call) error {
	p, err := c.project()
	if err != nil {
		return err
	}
	if err := c.require(p.Name, "", permOn(rbac.ResourceScanner, rbac.ActionCreate)); err != nil {
		return err
	}
	var req ProjectScanner
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	err = a.cfg.scan.svc.SetProjectScanner(c.ctx(), p.Name, req.UUID)
	if errors.Is(err, scan.ErrNotFound) {
		return badRequest(fmt.Sprintf("scanner %q does not exist", req.UUID))
	}
	return a.okOr(c, scanErr(err))
}

func allowlistJSON(projectID int64, al scan.Allowlist) CVEAllowlist {
	out := CVEAllowlist{ProjectID: projectID, Items: []CVEAllowlistItem{}, UpdateTime: al.UpdatedAt}
	if !al.ExpiresAt.IsZero() {
		exp := al.ExpiresAt.Unix()
		out.ExpiresAt = &exp
	}
	for _, id := range al.Items {
		out.Items = append(out.Items, CVEAllowlistItem{CVEID: id})
	}
	return out
}

func allowlistOf(req CVEAllowlist) scan.Allowlist {
	al := scan.Allowlist{Items: []string{}}
	if req.ExpiresAt != nil && *req.ExpiresAt > 0 {
		al.ExpiresAt = time.Unix(*req.ExpiresAt, 0).UTC()
	}
	for _, it := range req.Items {
		al.Items = append(al.Items, it.CVEID)
	}
	return al
}

func (a *API) getSystemAllowlist(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	al, err := a.cfg.scan.svc.Allowlist(c.ctx(), "")
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, allowlistJSON(0, al))
}

func (a *API) setSystemAllowlist(c *call) error {
	if err := c.requireAdmin(permOn(rbac.ResourceConfiguration, rbac.ActionUpdate)); err != nil {
		return err
	}
	return a.putAllowlist(c, "")
}

func (a *API) putAllowlist(c *call, proj string) error {
	var req CVEAllowlist
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	_, err := a.cfg.scan.svc.SetAllowlist(c.ctx(), proj, allowlistOf(req))
	return a.okOr(c, scanErr(err))
}

func (a *API) getProjectAllowlist(c *call) error {
	p, err := c.readableProject()
	if err != nil {
		return err
	}
	al, err := a.cfg.scan.svc.Allowlist(c.ctx(), p.Name)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, allowlistJSON(p.ID, al))
}

func (a *API) setProjectAllowlist(c *call) error {
	p, err := c.project()
	if err != nil {
		return err
	}
	if err := c.require(p.Name, "", permOn(rbac.ResourceMetadata, rbac.ActionUpdate)); err != nil {
		return err
	}
	return a.putAllowlist(c, p.Name)
}
