package chart

import (
	"context"
	"net/http"

	"github.com/berthlabs/berth/rbac"
)

// Actions the handler asks Access about.
const (
	ActionRead   = "read"   // index.yaml, archives, listing and getting charts
	ActionUpload = "upload" // POST a chart
	ActionDelete = "delete" // DELETE a chart version
	ActionExport = "export" // download the project's charts as one bundle
	ActionImport = "import" // upload a bundle's charts
)

// Access decides whether a request may do action in project. When it may
// not, status is 401 (the caller should authenticate) or 403, and reason is
// shown to the caller.
type Access interface {
	Allowed(r *http.Request, project, action string) (ok bool, status int, reason string)
}

// AccessFunc adapts a function to Access.
type AccessFunc func(r *http.Request, project, action string) (bool, int, string)

// Allowed implements Access.
func (f AccessFunc) Allowed(r *http.Request, project, action string) (bool, int, string) {
	return f(r, project, action)
}

// AllowAll lets every request through: for tests and single-user embedding.
var AllowAll Access = AccessFunc(func(*http.Request, string, string) (bool, int, string) { return true, 0, "" })

// RBACAccess answers with RBAC decisions about helm-chart and
// helm-chart-version, given the two methods of auth.Gatekeeper:
//
//	chart.RBACAccess(gk.Principal, gk.Decide)
//
// Reading needs "read helm-chart" (guests; anonymous callers in public
// projects when the RBAC engine's public permissions include it), uploading
// "create helm-chart-version" (developers), deleting "delete
// helm-chart-version" (maintainers).
func RBACAccess(
	principal func(*http.Request) (rbac.Principal, error),
	decide func(ctx context.Context, p rbac.Principal, project, repository string, perm rbac.Permission) (rbac.Decision, error),
) Access {
	return AccessFunc(func(r *http.Request, project, action string) (bool, int, string) {
		var perm rbac.Permission
		switch action {
		case ActionRead, ActionExport:
			perm = rbac.Permission{Resource: rbac.ResourceHelmChart, Action: rbac.ActionRead}
		case ActionUpload, ActionImport:
			perm = rbac.Permission{Resource: rbac.ResourceHelmChartVersion, Action: rbac.ActionCreate}
		case ActionDelete:
			perm = rbac.Permission{Resource: rbac.ResourceHelmChartVersion, Action: rbac.ActionDelete}
		default:
			return false, http.StatusForbidden, "unknown action " + action
		}
		p, err := principal(r)
		if err != nil {
			return false, http.StatusUnauthorized, err.Error()
		}
		d, err := decide(r.Context(), p, project, "", perm)
		if err != nil {
			return false, http.StatusInternalServerError, "access check failed"
		}
		if d.Allowed {
			return true, 0, ""
		}
		if p.Kind == rbac.Anonymous {
			return false, http.StatusUnauthorized, "authentication required: " + d.Reason
		}
		return false, http.StatusForbidden, d.Reason
	})
}
