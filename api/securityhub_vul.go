package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
)

// ListVulnerabilities: the findings of every image's newest report that
// match q, in catalog order (repositories by name, images newest first,
// findings as the report lists them).

// tuneCount is where tune_count stops counting.
const tuneCount = 1000

// hubFilter is the q of the vulnerability listing, parsed.
type hubFilter struct {
	terms          map[string]qTerm
	severity       *scan.Severity // an exact severity term, parsed
	cvssLo, cvssHi float64        // bounds of cvss_score_v3, when asked for
	cvss           bool
}

func parseHubFilter(q string) (hubFilter, error) {
	terms, err := parseQKeys(q, qPlain("cve_id"), qRanged("cvss_score_v3"), qPlain("severity"), qPlain("repository_name"),
		qSets("project_id"), qPlain("package"), qPlain("tag"), qPlain("digest"))
	if err != nil {
		return hubFilter{}, err
	}
	f := hubFilter{terms: terms}
	if t, ok := terms["severity"]; ok && t.kind == qExact {
		sev, err := scan.ParseSeverity(t.value)
		if err != nil {
			return f, badRequest(fmt.Sprintf("severity %q: want Unknown, Negligible, Low, Medium, High or Critical", t.value))
		}
		f.severity = &sev
	}
	if t, ok := terms["cvss_score_v3"]; ok {
		lo, hi := t.lo, t.hi
		switch t.kind {
		case qExact:
			lo, hi = t.value, t.value
		case qRange:
		default:
			return f, badRequest("cvss_score_v3: want a score (cvss_score_v3=9.8) or a range (cvss_score_v3=[7~10])")
		}
		f.cvss, f.cvssLo, f.cvssHi = true, 0, 10
		for _, b := range []struct {
			s string
			v *float64
		}{{lo, &f.cvssLo}, {hi, &f.cvssHi}} {
			if b.s == "" {
				continue
			}
			n, err := strconv.ParseFloat(b.s, 64)
			if err != nil || n < 0 || n > 10 {
				return f, badRequest(fmt.Sprintf("cvss_score_v3 bound %q: want a score from 0 to 10", b.s))
			}
			*b.v = n
		}
	}
	if t, ok := terms["project_id"]; ok {
		for _, v := range append(slices.Clone(t.values), t.value) {
			if _, err := strconv.ParseInt(v, 10, 64); v != "" && (err != nil || t.kind == qFuzzy) {
				return f, badRequest(fmt.Sprintf("project_id %q: want a project's numeric id", v))
			}
		}
	}
	return f, nil
}

// prefixes are the repository prefixes the walk needs: those of the
// projects named by project_id and the repository of repository_name.
func (a *API) hubPrefixes(c *call, f hubFilter) ([]string, error) {
	var ids []string
	if t, ok := f.terms["project_id"]; ok {
		switch t.kind {
		case qExact:
			ids = []string{t.value}
		case qAny, qAll:
			ids = slices.Compact(slices.Sorted(slices.Values(t.values)))
		}
	}
	repo := ""
	if t, ok := f.terms["repository_name"]; ok && t.kind == qExact {
		repo = t.value
	}
	if ids == nil {
		return []string{repo}, nil
	}
	var out []string
	for _, s := range ids {
		id, _ := strconv.ParseInt(s, 10, 64)
		p, err := a.deps.Projects.GetByID(c.ctx(), id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if prefix := p.Name + "/"; repo == "" {
			out = append(out, prefix)
		} else if strings.HasPrefix(repo, prefix) {
			out = append(out, repo)
		}
	}
	return out, nil
}

func (f hubFilter) keepArtifact(pid int64, art registry.Artifact) bool {
	if !termMatches(f.terms, "project_id", strconv.FormatInt(pid, 10)) ||
		!termMatches(f.terms, "repository_name", art.Repository) || !termMatches(f.terms, "digest", art.Digest.String()) {
		return false
	}
	t, ok := f.terms["tag"]
	return !ok || slices.ContainsFunc(art.Tags, t.matches)
}

func (f hubFilter) keepFinding(v scan.Vulnerability) bool {
	if f.severity != nil && v.Severity != *f.severity {
		return false
	}
	if t, ok := f.terms["severity"]; ok && f.severity == nil && !t.matches(v.Severity.String()) {
		return false
	}
	if f.cvss && (v.CVSS == nil || v.CVSS.ScoreV3 < f.cvssLo || v.CVSS.ScoreV3 > f.cvssHi) {
		return false
	}
	return termMatches(f.terms, "cve_id", v.ID) && termMatches(f.terms, "package", v.Package)
}

func (a *API) listSecurityVulnerabilities(c *call) error {
	if err := c.securityHubAdmin(); err != nil {
		return err
	}
	f, err := parseHubFilter(c.r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	tune, err := boolQuery(c, "tune_count", false)
	if err != nil {
		return err
	}
	withTag, err := boolQuery(c, "with_tag", false)
	if err != nil {
		return err
	}
	prefixes, err := a.hubPrefixes(c, f)
	if err != nil {
		return err
	}
	out, total, tuned := []SecurityVulnerability{}, 0, false
	err = a.walkImages(c.ctx(), prefixes, func(pid int64, art registry.Artifact) error {
		if !f.keepArtifact(pid, art) {
			return nil
		}
		// The summary first: most images need not have their report read.
		info, ok, err := a.cfg.scan.svc.ReportInfo(c.ctx(), art.Digest.String())
		if err != nil || !ok || info.Summary.Total == 0 || (f.severity != nil && info.Summary.Counts[*f.severity] == 0) {
			return err
		}
		r, _, err := a.cfg.scan.svc.Report(c.ctx(), art.Digest.String())
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, v := range r.Vulnerabilities {
			if !f.keepFinding(v) {
				continue
			}
			if total >= pg.offset() && len(out) < pg.size {
				out = append(out, hubVulnerability(pid, art, v, withTag))
			}
			total++
			if tune && total > tuneCount && len(out) == pg.size {
				tuned = true
				return errStopWalk
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if tuned {
		setPageHeaders(c.w, c.r, pg, pg.offset()+pg.size+1)
		c.w.Header().Set("X-Total-Count", "-1")
		return c.json(http.StatusOK, out)
	}
	return c.paged(pg, total, out)
}

func hubVulnerability(pid int64, art registry.Artifact, v scan.Vulnerability, withTag bool) SecurityVulnerability {
	out := SecurityVulnerability{ProjectID: pid, RepositoryName: art.Repository, Digest: art.Digest.String(), Tags: []string{},
		CVEID: v.ID, Severity: v.Severity.String(), Package: v.Package, Version: v.Version, FixedVersion: v.FixVersion,
		Desc: v.Description, Links: nonNil(v.Links)}
	if withTag {
		out.Tags = nonNil(art.Tags)
	}
	if v.CVSS != nil {
		out.CvssV3Score = v.CVSS.ScoreV3
	}
	return out
}
