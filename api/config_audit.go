package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/registry"
)

// AuditRecorder records audit entries; *audit.Recorder implements it.
type AuditRecorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// WithAuditRecorder records every configuration change made through the
// API — registry endpoints, replication policies and executions, scanner
// registrations and a project's scanner, CVE allowlists, trust keys and
// policies, manual scans — with its actor. Projects, members, users and
// robots are audited by their stores' change hooks instead.
func WithAuditRecorder(r AuditRecorder) Option { return func(c *config) { c.audit = r } }

// configTags are the route groups whose changes only the API can audit.
var configTags = map[string]bool{"registry": true, "replication": true, "scanner": true, "system": true, "trust": true, "scan": true, "gc": true,
	"quota": true, "retention": true, "immutable": true, "webhook": true, "label": true, "purge": true, "configure": true, "jobservice": true}

// auditsChanges reports whether a successful call of rt is a
// configuration change to record: not a read, not a connection test.
func (rt route) auditsChanges() bool {
	if rt.method == http.MethodGet || rt.method == http.MethodHead || strings.HasPrefix(rt.id, "ping") {
		return false
	}
	return configTags[rt.tag] || rt.id == "updateProjectCVEAllowlist"
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// auditChange records a finished configuration change: the operation, the
// resource path (and what a create made, from Location), the project a
// project-scoped route names.
func (a *API) auditChange(r *http.Request, rt route, w *statusWriter) {
	if w.status >= 400 {
		return
	}
	e := audit.Entry{Actor: registry.ActorFrom(r.Context()), Action: rt.id, ResourceType: rt.tag,
		Resource: strings.TrimPrefix(r.URL.Path, BasePath), Result: audit.ResultSuccess,
		RemoteAddr: r.RemoteAddr, UserAgent: r.UserAgent()}
	if loc := w.Header().Get("Location"); loc != "" {
		e.Detail = "created " + strings.TrimPrefix(loc, BasePath)
	}
	if p := r.PathValue("project_name_or_id"); p != "" {
		e.Project = p
		if id, err := strconv.ParseInt(p, 10, 64); err == nil && r.Header.Get("X-Is-Resource-Name") != "true" {
			if proj, err := a.deps.Projects.GetByID(r.Context(), id); err == nil {
				e.Project, e.ProjectID = proj.Name, proj.ID
			}
		}
	} else if p := r.PathValue("project_name"); p != "" {
		e.Project = p
	}
	if err := a.cfg.audit.Record(context.WithoutCancel(r.Context()), e); err != nil {
		a.cfg.log.ErrorContext(r.Context(), "api: configuration change not audited", "action", e.Action, "err", err)
	}
}
