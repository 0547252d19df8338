package api

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
)

// The security hub: what the newest vulnerability report of every image
// found, summed up (getSecuritySummary) and listed (ListVulnerabilities).
// System administrators only. Both walk the catalog (securityhub_walk.go)
// and read each image's report by digest.

// dangerousTop is how many dangerous CVEs and artifacts the summary names.
const dangerousTop = 5

func (a *API) securityHubRoutes() []route {
	if a.cfg.scan.svc == nil {
		return nil
	}
	return []route{
		{method: http.MethodGet, path: "/security/summary", id: "getSecuritySummary", tag: "securityhub",
			summary: "Counts of the findings of every image's newest report, by severity (system admins)",
			query: []param{{"with_dangerous_cve", "boolean", "Include the 5 critical findings of highest CVSS v3 score (default false)", false},
				{"with_dangerous_artifact", "boolean", "Include the 5 images with the most severe findings (default false)", false}},
			resp: SecuritySummary{}, handle: a.securitySummary},
		{method: http.MethodGet, path: "/security/vul", id: "ListVulnerabilities", tag: "securityhub",
			summary: "List the findings of every image's newest report (system admins; q keys: cve_id, severity, " +
				"cvss_score_v3=[min~max], project_id, repository_name, digest, tag, package)",
			query: append([]param{{"q", "string", "Filter: comma-separated key=value terms; project_id also takes {a b} and (a b)", false},
				{"tune_count", "boolean", "Stop counting past 1000 matches: X-Total-Count is then -1 (default false)", false},
				{"with_tag", "boolean", "Include each image's tags (default false)", false}}, paging...),
			resp: []SecurityVulnerability{}, paged: true, handle: a.listSecurityVulnerabilities},
	}
}

// securityHubAdmin admits system administrators only.
func (c *call) securityHubAdmin() error { return c.configAdmin(rbac.ActionRead) }

func (a *API) securitySummary(c *call) error {
	if err := c.securityHubAdmin(); err != nil {
		return err
	}
	withCVE, err := boolQuery(c, "with_dangerous_cve", false)
	if err != nil {
		return err
	}
	withArt, err := boolQuery(c, "with_dangerous_artifact", false)
	if err != nil {
		return err
	}
	svc := a.cfg.scan.svc
	var out SecuritySummary
	var cves []DangerousCVE
	var arts []DangerousArtifact
	err = a.walkImages(c.ctx(), []string{""}, func(pid int64, art registry.Artifact) error {
		out.TotalArtifact++
		info, ok, err := svc.ReportInfo(c.ctx(), art.Digest.String())
		if err != nil || !ok {
			return err
		}
		out.ScannedCnt++
		s := info.Summary
		out.TotalVuls += int64(s.Total)
		out.FixableCnt += int64(s.Fixable)
		out.CriticalCnt += int64(s.Counts[scan.Critical])
		out.HighCnt += int64(s.Counts[scan.High])
		out.MediumCnt += int64(s.Counts[scan.Medium])
		out.LowCnt += int64(s.Counts[scan.Low])
		out.NoneCnt += int64(s.Counts[scan.None] + s.Counts[scan.Negligible])
		out.UnknownCnt += int64(s.Counts[scan.Unknown])
		if withArt && s.Counts[scan.Critical]+s.Counts[scan.High]+s.Counts[scan.Medium] > 0 {
			arts = topArtifacts(arts, DangerousArtifact{ProjectID: pid, RepositoryName: art.Repository, Digest: art.Digest.String(),
				CriticalCnt: int64(s.Counts[scan.Critical]), HighCnt: int64(s.Counts[scan.High]), MediumCnt: int64(s.Counts[scan.Medium])})
		}
		if withCVE && s.Counts[scan.Critical] > 0 {
			r, _, err := svc.Report(c.ctx(), art.Digest.String())
			if err != nil {
				return err
			}
			for _, v := range r.Vulnerabilities {
				if v.Severity == scan.Critical && v.CVSS != nil && v.CVSS.ScoreV3 > 0 {
					cves = topCVEs(cves, DangerousCVE{CVEID: v.ID, Severity: v.Severity.String(), CvssScoreV3: v.CVSS.ScoreV3,
						Desc: v.Description, Package: v.Package, Version: v.Version})
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if withCVE {
		out.DangerousCves = append([]DangerousCVE{}, cves...)
	}
	if withArt {
		out.DangerousArtifacts = append([]DangerousArtifact{}, arts...)
	}
	return c.json(http.StatusOK, out)
}

// topCVEs keeps the dangerousTop CVEs of highest score, one entry per CVE,
// package and version.
func topCVEs(top []DangerousCVE, v DangerousCVE) []DangerousCVE {
	if slices.ContainsFunc(top, func(o DangerousCVE) bool {
		return o.CVEID == v.CVEID && o.Package == v.Package && o.Version == v.Version
	}) {
		return top
	}
	top = append(top, v)
	slices.SortStableFunc(top, func(x, y DangerousCVE) int {
		return cmp.Or(cmp.Compare(y.CvssScoreV3, x.CvssScoreV3), cmp.Compare(x.CVEID, y.CVEID))
	})
	return top[:min(len(top), dangerousTop)]
}

// topArtifacts keeps the dangerousTop artifacts with the most critical,
// then high, then medium findings.
func topArtifacts(top []DangerousArtifact, v DangerousArtifact) []DangerousArtifact {
	top = append(top, v)
	slices.SortStableFunc(top, func(x, y DangerousArtifact) int {
		return cmp.Or(cmp.Compare(y.CriticalCnt, x.CriticalCnt), cmp.Compare(y.HighCnt, x.HighCnt), cmp.Compare(y.MediumCnt, x.MediumCnt))
	})
	return top[:min(len(top), dangerousTop)]
}
