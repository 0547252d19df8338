package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/scan/export"
)

// Scan data exports: a user asks for the findings of chosen projects'
// artifacts as CSV (exportScanData), which is written at once, within the
// export Store's bounds, and kept as an execution the user owns: only
// they, or a system administrator, may read it or download its file.

// ScanExports keeps scan data export executions and their files;
// *export.Store implements it.
type ScanExports interface {
	Run(ctx context.Context, o export.Owner, c export.Criteria, produce export.Produce) (export.Execution, error)
	Get(ctx context.Context, id int64) (export.Execution, error)
	List(ctx context.Context, o export.Owner) ([]export.Execution, error)
	File(ctx context.Context, id int64) ([]byte, error)
}

// WithScanExports serves Harbor's scan data export endpoints over s; they
// read reports through WithScanning's component, and need it.
func WithScanExports(s ScanExports) Option { return func(c *config) { c.scanExports = s } }

const pExport = "/export/cve"

func (a *API) scanExportRoutes() []route {
	if a.cfg.scanExports == nil || a.cfg.scan.svc == nil {
		return nil
	}
	get := http.MethodGet
	return []route{
		{method: http.MethodPost, path: pExport, id: "exportScanData", tag: "scan data export",
			summary: "Export the findings of projects' artifacts as CSV, now (signed-in users who may read the projects' scans; " +
				"header X-Scan-Data-Type: " + reportMIME11 + ")",
			body: ScanDataExportRequest{}, resp: ScanDataExportJob{}, handle: a.exportScanData},
		{method: get, path: pExport + "/executions", id: "getScanDataExportExecutionList", tag: "scan data export",
			summary: "The caller's exports, newest first", resp: ScanDataExportExecutionList{}, handle: a.listScanExports},
		{method: get, path: pExport + "/execution/{execution_id}", id: "getScanDataExportExecution", tag: "scan data export",
			summary: "One export (its owner, or system admins)", resp: ScanDataExportExecution{}, handle: a.getScanExport},
		{method: get, path: pExport + "/download/{execution_id}", id: "downloadScanData", tag: "scan data export",
			summary: "Download an export's file, as text/csv (its owner, or system admins)",
			query:   []param{{"format", "string", "csv (the default and only format)", false}}, text: true, handle: a.downloadScanExport},
	}
}

func scanExportJSON(e export.Execution, userID int64) ScanDataExportExecution {
	return ScanDataExportExecution{ID: e.ID, UserID: userID, UserName: e.Owner.Name, Status: string(e.Status), StatusText: e.StatusText,
		Trigger: e.Trigger, StartTime: e.StartedAt, EndTime: e.EndedAt, FilePresent: e.FilePresent, JobName: e.Criteria.JobName,
		Records: e.Records}
}

// exportOwner is the signed-in user calling, as an export's owner.
func (c *call) exportOwner() (export.Owner, error) {
	if err := c.requireUser(); err != nil {
		return export.Owner{}, err
	}
	u, err := c.a.deps.Users.Get(c.ctx(), c.p.Name)
	if err != nil {
		return export.Owner{}, err
	}
	return export.Owner{Name: u.Name, Since: u.CreatedAt.UTC()}, nil
}

func (a *API) exportScanData(c *call) error {
	owner, err := c.exportOwner()
	if err != nil {
		return err
	}
	switch typ := c.r.Header.Get("X-Scan-Data-Type"); {
	case typ == "":
		return badRequest("the X-Scan-Data-Type header is required: " + reportMIME11)
	case !sameMediaType(typ, reportMIME11):
		return badRequest(fmt.Sprintf("X-Scan-Data-Type %q is not supported: send %s", typ, reportMIME11))
	}
	req, err := decodeAs[ScanDataExportRequest](c)
	if err != nil {
		return err
	}
	sel, err := a.exportSelection(c, req)
	if err != nil {
		return err
	}
	crit := export.Criteria{JobName: req.JobName, Projects: req.Projects, Labels: req.Labels, Repositories: req.Repositories,
		CVEIDs: req.CVEIDs, Tags: req.Tags}
	e, err := a.cfg.scanExports.Run(c.ctx(), owner, crit, a.exportProducer(sel))
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, ScanDataExportJob{ID: e.ID})
}

// sameMediaType compares media types with parameters, ignoring case and
// spaces around the parameters.
func sameMediaType(a, b string) bool {
	norm := func(s string) string {
		parts := strings.Split(s, ";")
		for i, p := range parts {
			parts[i] = strings.ToLower(strings.TrimSpace(p))
		}
		return strings.Join(parts, ";")
	}
	return norm(a) == norm(b)
}

func (a *API) listScanExports(c *call) error {
	owner, err := c.exportOwner()
	if err != nil {
		return err
	}
	es, err := a.cfg.scanExports.List(c.ctx(), owner)
	if err != nil {
		return err
	}
	id := a.exportUserID(c, owner)
	return c.json(http.StatusOK, ScanDataExportExecutionList{Items: convertAll(es, func(e *export.Execution) ScanDataExportExecution {
		return scanExportJSON(*e, id)
	})})
}

// ownExport is the request's {execution_id}, when the caller owns it or
// is a system administrator.
func (c *call) ownExport() (export.Execution, error) {
	owner, err := c.exportOwner()
	if err != nil {
		return export.Execution{}, err
	}
	v := c.r.PathValue("execution_id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return export.Execution{}, notFound(fmt.Sprintf("execution_id %q: want a positive number", v))
	}
	e, err := c.a.cfg.scanExports.Get(c.ctx(), id)
	if err != nil {
		return e, err
	}
	if e.Owner.Name == owner.Name && e.Owner.Since.Equal(owner.Since) {
		return e, nil
	}
	admin, err := c.isAdmin()
	if err != nil || admin {
		return e, err
	}
	return e, forbidden(fmt.Sprintf("export execution %d is another user's", id))
}

func (a *API) getScanExport(c *call) error {
	e, err := c.ownExport()
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, scanExportJSON(e, a.exportUserID(c, e.Owner)))
}

func (a *API) downloadScanExport(c *call) error {
	if f := c.r.URL.Query().Get("format"); f != "" && !strings.EqualFold(f, "csv") {
		return badRequest(fmt.Sprintf("format %q: only csv is supported", f))
	}
	e, err := c.ownExport()
	if err != nil {
		return err
	}
	if !e.FilePresent {
		return notFound(fmt.Sprintf("export execution %d has no file (status %s)", e.ID, e.Status))
	}
	f, err := a.cfg.scanExports.File(c.ctx(), e.ID)
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="scandata_export_%d.csv"`, e.ID))
	return c.raw("text/csv; charset=utf-8", f)
}

// exportUserID is the user_id of an export's owner, 0 when the account is
// gone (or is another one made later under the name).
func (a *API) exportUserID(c *call, o export.Owner) int64 {
	u, err := a.deps.Users.Get(c.ctx(), o.Name)
	if err != nil || !u.CreatedAt.UTC().Equal(o.Since) {
		return 0
	}
	return u.ID
}
