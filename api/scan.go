package api

import (
	"context"
	"net/http"

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
	IndexChildren(ctx context.Context, a scan.Artifact) ([]scan.Artifact, error)
}

// ScanAll runs and schedules scans of every artifact.
type ScanAll interface {
	ScanAll(ctx context.Context, t scan.Trigger) (scan.Task, error)
	StopScanAll(ctx context.Context) (scan.Task, error)
	ScanAllSchedule(ctx context.Context) (scan.Schedule, error)
	SetScanAllSchedule(ctx context.Context, s scan.Schedule) (scan.Schedule, error)
	LatestScanAll(ctx context.Context, t scan.Trigger) (scan.ScanAllStats, bool, error)
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
			summary: "Stop an artifact's scan (or SBOM generation) in progress: 202 with the task, also when it has ended already (nothing changes); 400 when there has been none", body: ScanType{}, resp: ScanTaskInfo{},
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
			summary: "Stop a scan-all in progress (system admins): 202, also when the latest has ended already (nothing changes); 400 when there has been none", status: http.StatusAccepted, handle: a.stopScanAll},
		{method: get, path: "/scans/all/metrics", id: "getLatestScanAllMetrics", tag: "scanAll",
			summary: "The latest scan-all and its scans by status (system admins)", resp: ScanAllMetrics{}, handle: a.scanAllMetrics},
		{method: get, path: "/scans/schedule/metrics", id: "getLatestScheduledScanAllMetrics", tag: "scanAll",
			summary: "The latest scheduled scan-all and its scans by status (system admins)", resp: ScanAllMetrics{},
			handle: a.scheduledScanAllMetrics},

		{method: get, path: "/scanners", id: "listScanners", tag: "scanner", summary: "List scanners (system admins; " + scannerListDoc + ")",
			query: append([]param{{"q", "string", "Filter, Harbor's q", false}, sorting}, paging...),
			resp:  []ScannerRegistration{}, paged: true, handle: a.listScanners},
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
		{method: put, path: "/system/CVEAllowlist", id: "putSystemCVEAllowlist", tag: "system",
			summary: "Replace the system CVE allowlist (system admins)", body: CVEAllowlist{}, handle: a.setSystemAllowlist},
		{method: get, path: pProject + "/cve-allowlist", id: "getProjectCVEAllowlist", tag: "project",
			summary: "The project's own CVE allowlist (used unless the project reuses the system's)", resp: CVEAllowlist{},
			handle: a.getProjectAllowlist},
		{method: put, path: pProject + "/cve-allowlist", id: "updateProjectCVEAllowlist", tag: "project",
			summary: "Replace the project's CVE allowlist (project admins)", body: CVEAllowlist{}, handle: a.setProjectAllowlist},
	}
}
