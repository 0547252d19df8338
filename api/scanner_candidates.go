package api

import (
	"net/http"
	"slices"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/scan"
)

// The scanners a project admin may choose for the project
// (listScannerCandidatesOfProject): every registration that is enabled.

// scanReplRoutes are the scan data export, security hub, scanner
// candidate and registry information endpoints.
func (a *API) scanReplRoutes() []route {
	return slices.Concat(a.scannerCandidateRoutes(), a.securityHubRoutes(), a.scanExportRoutes(), a.replicationInfoRoutes())
}

func (a *API) scannerCandidateRoutes() []route {
	if a.cfg.scan.svc == nil {
		return nil
	}
	return []route{{method: http.MethodGet, path: pProject + "/scanner/candidates", id: "listScannerCandidatesOfProject",
		tag: "project", summary: "The enabled scanners the project's admins may choose (q keys: name, description, url; exact or ~substring)",
		query: append([]param{{"q", "string", "Filter: comma-separated key=value or key=~substring terms", false}, sorting}, paging...),
		resp:  []ScannerRegistration{}, paged: true, handle: a.listScannerCandidates}}
}

func candidateSort() map[string]sortField[scan.Registration] {
	return map[string]sortField[scan.Registration]{
		"name":        func(r *scan.Registration) string { return r.Name },
		"description": func(r *scan.Registration) string { return r.Description },
		"url":         func(r *scan.Registration) string { return r.URL },
		"create_time": func(r *scan.Registration) string { return sTime(r.CreatedAt) },
		"update_time": func(r *scan.Registration) string { return sTime(r.UpdatedAt) },
	}
}

func (a *API) listScannerCandidates(c *call) error {
	if _, err := c.projectFor(permOn(rbac.ResourceScanner, rbac.ActionCreate)); err != nil {
		return err
	}
	terms, err := parseQ(c.r.URL.Query().Get("q"), "name", "description", "url")
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	regs, err := a.cfg.scan.svc.Scanners(c.ctx())
	if err != nil {
		return err
	}
	var keep []scan.Registration
	for _, r := range regs {
		if r.Disabled || !termMatches(terms, "name", r.Name) || !termMatches(terms, "description", r.Description) ||
			!termMatches(terms, "url", r.URL) {
			continue
		}
		keep = append(keep, r)
	}
	out, total, err := listPage(c, pg, "", candidateSort(), sliceLister(keep))
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(out, func(r *scan.Registration) ScannerRegistration { return registrationJSON(*r) }))
}

// termMatches tells whether s satisfies terms[key], when there is one.
func termMatches(terms map[string]qTerm, key, s string) bool {
	t, ok := terms[key]
	return !ok || t.matches(s)
}

// sliceLister serves pages of a list held in memory.
func sliceLister[T any](all []T) func(core.Page) ([]T, int, error) {
	return func(p core.Page) ([]T, int, error) {
		lo := min(p.Offset, len(all))
		return all[lo:min(lo+p.Limit, len(all))], len(all), nil
	}
}
