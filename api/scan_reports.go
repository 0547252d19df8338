package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
)

// Reading what scans found: the vulnerabilities addition, and the scan and
// SBOM overviews shown with artifacts.

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
		out.Vulnerabilities = append(out.Vulnerabilities, vulnerabilityJSON(v, allow.Active(now) && allow.Contains(v.ID)))
	}
	out.Total = len(out.Vulnerabilities)
	return c.json(http.StatusOK, map[string]VulnerabilityReport{reportMIME11: out})
}

func vulnerabilityJSON(v scan.Vulnerability, allowlisted bool) VulnerabilityItem {
	it := VulnerabilityItem{ID: v.ID, Package: v.Package, Version: v.Version, FixVersion: v.FixVersion, Status: v.Status,
		Severity: v.Severity.String(), Description: v.Description, Links: v.Links, CWEIDs: v.CWEIDs, Title: v.Title,
		PURL: v.PURL, Allowlisted: allowlisted}
	if v.CVSS != nil {
		it.PreferredCVSS = &CVSS{ScoreV3: v.CVSS.ScoreV3, ScoreV2: v.CVSS.ScoreV2, VectorV3: v.CVSS.VectorV3, VectorV2: v.CVSS.VectorV2}
	}
	if v.Layer != nil {
		it.LayerDigest = v.Layer.Digest.String()
	}
	return it
}

// effectiveAllowlist is the allowlist the project's gate applies.
func (a *API) effectiveAllowlist(ctx context.Context, p project.Project) (scan.Allowlist, error) {
	key := p.Name
	if p.Metadata.ReuseSysCVEAllowlist {
		key = ""
	}
	return a.cfg.scan.svc.Allowlist(ctx, key)
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
		out.StartTime, out.EndTime, out.Duration = t.StartedAt, t.EndedAt, taskSeconds(t)
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
	return &SBOMOverview{ReportID: strconv.FormatInt(t.ID, 10), ScanStatus: string(t.Status), StartTime: t.StartedAt,
		EndTime: t.EndedAt, Duration: taskSeconds(t), Scanner: t.Scanner}
}

// taskSeconds is how long a finished task ran, in whole seconds; 0 until
// it has both started and ended.
func taskSeconds(t scan.Task) int64 {
	if t.StartedAt.IsZero() || t.EndedAt.IsZero() {
		return 0
	}
	return int64(t.EndedAt.Sub(t.StartedAt).Round(time.Second) / time.Second)
}

// artifactOverview is an artifact's scan overview; an index's is its
// images' taken together, as Harbor shows it: counts summed, the worst
// severity, and a status that is done only when every image's scan is.
func (a *API) artifactOverview(ctx context.Context, art registry.Artifact) *NativeReportSummary {
	if !scan.IsIndex(art.MediaType) || a.cfg.scan.svc == nil {
		return a.overview(ctx, art.Digest)
	}
	kids, err := a.cfg.scan.svc.IndexChildren(ctx, scan.Artifact{Repository: art.Repository, Digest: art.Digest, MediaType: art.MediaType})
	if err != nil {
		return nil // not scannable, or unreadable: no overview, as for any unscanned artifact
	}
	var parts []*NativeReportSummary
	for _, k := range kids {
		if o := a.overview(ctx, k.Digest); o != nil {
			parts = append(parts, o)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return mergeOverviews(parts, len(kids))
}

// mergeOverviews sums the overviews of an index's images; of is how many
// images it has (some may not be scanned yet).
func mergeOverviews(parts []*NativeReportSummary, of int) *NativeReportSummary {
	out := &NativeReportSummary{ScanStatus: string(scan.StatusSuccess)}
	sum := VulnerabilitySummary{Summary: map[string]int{}}
	worst, done, reported := scan.None, 0, false
	for _, p := range parts {
		switch scan.TaskStatus(p.ScanStatus) {
		case scan.StatusSuccess:
		case scan.StatusError, scan.StatusStopped:
			if out.ScanStatus == string(scan.StatusSuccess) {
				out.ScanStatus = p.ScanStatus
			}
		default:
			out.ScanStatus = string(scan.StatusRunning)
		}
		if p.CompletePercent == 100 {
			done++
		}
		if p.StartTime.Before(out.StartTime) || out.StartTime.IsZero() {
			out.StartTime = p.StartTime
		}
		out.EndTime = maxTime(out.EndTime, p.EndTime)
		if p.Summary != nil {
			reported = true
			sum.Total += p.Summary.Total
			sum.Fixable += p.Summary.Fixable
			for sev, n := range p.Summary.Summary {
				sum.Summary[sev] += n
			}
		}
		if sev, err := scan.ParseSeverity(p.Severity); err == nil {
			worst = max(worst, sev)
		}
		if out.Scanner == nil {
			out.Scanner = p.Scanner
		}
	}
	if done < of && out.ScanStatus == string(scan.StatusSuccess) {
		out.ScanStatus = string(scan.StatusRunning) // some images not scanned yet
	}
	out.CompletePercent = done * 100 / of
	if reported {
		out.Summary = &sum
		out.Severity = worst.String()
	}
	if !out.StartTime.IsZero() && !out.EndTime.IsZero() {
		out.Duration = int64(out.EndTime.Sub(out.StartTime).Seconds())
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
