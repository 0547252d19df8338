package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/export"
	"github.com/berthlabs/berth/tagselect"
)

// What an export covers, checked before it runs, and how its records are
// found.

// Bounds of an export request.
const (
	maxExportProjects = 10
	maxExportLabels   = 100
	maxExportCVEs     = 1000
	maxJobName        = 255
)

// exportSelection is a checked export request.
type exportSelection struct {
	projects []project.Project
	labels   []int64
	repos    []tagselect.Selector // none: every repository
	tags     []tagselect.Selector // none: every artifact
	cves     map[string]bool      // empty: every finding
}

// exportSelection checks req: the projects exist and the caller may read
// their scans, the labels exist and may be attached in them, the patterns
// are well-formed.
func (a *API) exportSelection(c *call, req ScanDataExportRequest) (exportSelection, error) {
	var sel exportSelection
	switch {
	case len(req.Projects) == 0:
		return sel, badRequest("projects is required: the ids of the projects to export")
	case len(req.Projects) > maxExportProjects:
		return sel, badRequest(fmt.Sprintf("projects: at most %d at once", maxExportProjects))
	case len(req.Labels) > maxExportLabels:
		return sel, badRequest(fmt.Sprintf("labels: at most %d", maxExportLabels))
	case len(req.JobName) > maxJobName:
		return sel, badRequest(fmt.Sprintf("job_name: at most %d characters", maxJobName))
	}
	for _, id := range slices.Compact(slices.Sorted(slices.Values(req.Projects))) {
		p, err := a.deps.Projects.GetByID(c.ctx(), id)
		if isNotFound(err) {
			return sel, notFound(fmt.Sprintf("project id %d does not exist", id))
		}
		if err != nil {
			return sel, err
		}
		if err := c.require(p.Name, "", permOn(rbac.ResourceScan, rbac.ActionRead)); err != nil {
			return sel, err
		}
		sel.projects = append(sel.projects, p)
	}
	if err := a.exportLabels(c.ctx(), &sel, req.Labels); err != nil {
		return sel, err
	}
	if p := strings.TrimSpace(req.Repositories); p != "" {
		sel.repos = []tagselect.Selector{{Kind: tagselect.Kind, Decoration: tagselect.RepoMatches, Pattern: p}}
		if err := tagselect.ValidateRepository(sel.repos); err != nil {
			return sel, badRequest("repositories: " + err.Error())
		}
	}
	if p := strings.TrimSpace(req.Tags); p != "" {
		sel.tags = []tagselect.Selector{{Kind: tagselect.Kind, Decoration: tagselect.Matches, Pattern: p}}
		if err := tagselect.ValidateTag(sel.tags); err != nil {
			return sel, badRequest("tags: " + err.Error())
		}
	}
	cves := strings.FieldsFunc(strings.Trim(strings.TrimSpace(req.CVEIDs), "{}"), func(r rune) bool { return r == ',' || r == ' ' })
	if len(cves) > maxExportCVEs {
		return sel, badRequest(fmt.Sprintf("cveIds: at most %d", maxExportCVEs))
	}
	sel.cves = map[string]bool{}
	for _, id := range cves {
		sel.cves[strings.ToUpper(id)] = true
	}
	return sel, nil
}

// exportLabels checks the label ids of an export: each exists, global or
// of one of its projects.
func (a *API) exportLabels(ctx context.Context, sel *exportSelection, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if a.cfg.labels == nil {
		return badRequest("labels: this server keeps no labels")
	}
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		l, err := a.cfg.labels.Get(ctx, id)
		if isNotFound(err) {
			return badRequest(fmt.Sprintf("label %d does not exist", id))
		}
		if err != nil {
			return err
		}
		if l.Scope != label.ScopeGlobal && !slices.ContainsFunc(sel.projects, func(p project.Project) bool { return p.ID == l.ProjectID }) {
			return badRequest(fmt.Sprintf("label %d belongs to a project the export does not cover", id))
		}
		sel.labels = append(sel.labels, id)
	}
	return nil
}

// exportProducer emits a record per finding of the newest report of each
// selected image.
func (a *API) exportProducer(sel exportSelection) export.Produce {
	return func(ctx context.Context, emit func(export.Record) error) error {
		names := map[int64]string{}
		prefixes := make([]string, len(sel.projects))
		for i, p := range sel.projects {
			names[p.ID], prefixes[i] = p.Name, p.Name+"/"
		}
		err := a.walkImages(ctx, prefixes, func(pid int64, art registry.Artifact) error {
			keep, err := a.exportKeeps(ctx, sel, pid, art)
			if err != nil || !keep {
				return err
			}
			r, _, err := a.cfg.scan.svc.Report(ctx, art.Digest.String())
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			for _, v := range r.Vulnerabilities {
				if len(sel.cves) > 0 && !sel.cves[strings.ToUpper(v.ID)] {
					continue
				}
				if err := emit(exportRecord(names[pid], art, v)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, export.ErrTooLarge) {
			a.cfg.log.ErrorContext(ctx, "api: scan data export", "err", err)
			return errors.New("reading the artifacts or their reports failed; see the server's log")
		}
		return err
	}
}

// exportKeeps tells whether an image is in the selection: its repository
// and tags match, and it carries one of the labels.
func (a *API) exportKeeps(ctx context.Context, sel exportSelection, pid int64, art registry.Artifact) (bool, error) {
	name, ok := tagselect.RepositoryName(art.Repository)
	if !ok || !tagselect.MatchRepository(sel.repos, name) {
		return false, nil
	}
	if len(sel.tags) > 0 && (len(art.Tags) == 0 || !tagselect.MatchTags(sel.tags, art.Tags)) {
		return false, nil
	}
	if len(sel.labels) == 0 {
		return true, nil
	}
	ls, err := a.cfg.labels.LabelsOf(ctx, pid, art.Repository, art.Digest)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ls, func(l label.Label) bool { return slices.Contains(sel.labels, l.ID) }), nil
}

func exportRecord(projectName string, art registry.Artifact, v scan.Vulnerability) export.Record {
	r := export.Record{Project: projectName, Repository: art.Repository, Digest: art.Digest.String(), Tags: art.Tags, CVE: v.ID,
		Package: v.Package, Version: v.Version, FixVersion: v.FixVersion, Severity: v.Severity.String(), CWEIDs: v.CWEIDs,
		Description: v.Description}
	if v.CVSS != nil {
		r.CVSSv3, r.VectorV3 = v.CVSS.ScoreV3, v.CVSS.VectorV3
	}
	return r
}
