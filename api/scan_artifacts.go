package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
)

// An artifact's scans and SBOM generations: starting and stopping them,
// their tasks and logs, and the SBOM download.

func scanTaskJSON(t scan.Task) ScanTaskInfo {
	return ScanTaskInfo{ReportID: strconv.FormatInt(t.ID, 10), ScanType: string(t.Kind), ScanStatus: string(t.Status),
		Trigger: string(t.Trigger), Scanner: t.Scanner, Message: t.Message, CreateTime: t.CreatedAt, StartTime: t.StartedAt,
		EndTime: t.EndedAt}
}

// acceptedTask answers 202 with the task a scan call started or stopped,
// or with the call's error.
func (c *call) acceptedTask(t scan.Task, err error) error {
	if err != nil {
		return err
	}
	return c.json(http.StatusAccepted, scanTaskJSON(t))
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

// scanRequest reads what a request to scan or to stop a scan is about:
// the task kind its optional ScanType body asks for, and its artifact,
// once the caller may act on scans (or SBOMs) of it.
func (a *API) scanRequest(c *call, act rbac.Action) (scan.TaskKind, scan.Artifact, *registry.Artifact, error) {
	kind, err := scanTypeOf(c)
	if err != nil {
		return kind, scan.Artifact{}, nil, err
	}
	res := rbac.ResourceScan
	if kind == scan.KindSBOM {
		res = rbac.ResourceSBOM
	}
	_, art, ra, err := a.scanTarget(c, permOn(res, act))
	return kind, art, ra, err
}

func (a *API) scanArtifact(c *call) error {
	kind, art, ra, err := a.scanRequest(c, rbac.ActionCreate)
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
		return c.acceptedTask(a.cfg.scan.svc.GenerateSBOM(c.ctx(), art, scan.TriggerManual))
	}
	ts, err := a.cfg.scan.svc.ScanImages(c.ctx(), art, scan.TriggerManual)
	if err != nil {
		return err
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
		return t, err
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
		return err
	}
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(log))
	return nil
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
		return err
	}
	return c.raw(format, b)
}
