package api

import (
	"time"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/rbac"
)

// AuditLog is an audit entry as Harbor shows it, plus its result.
type AuditLog struct {
	ID           int64     `json:"id"`
	Username     string    `json:"username"`
	Resource     string    `json:"resource"`
	ResourceType string    `json:"resource_type"`
	Operation    string    `json:"operation"`
	OpTime       time.Time `json:"op_time"`
	Result       string    `json:"result" doc:"success or failure"`
	Project      string    `json:"project,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	Count        int       `json:"count" doc:"how many identical operations this entry stands for (repeated pulls are folded)"`
	// AttemptedUser is the name a failed login claimed: a claim, not
	// who acted (username is empty then).
	AttemptedUser string `json:"attempted_user,omitempty" doc:"berth: the user name a failed login claimed (not proven, so not the username)"`
	RemoteAddr    string `json:"remote_addr,omitempty" doc:"berth: the client's address (host:port) as the server saw it"`
}

func auditJSON(e audit.Entry) AuditLog {
	return AuditLog{ID: e.ID, Username: e.Actor, Resource: e.Resource, ResourceType: e.ResourceType,
		Operation: e.Action, OpTime: e.Time, Result: e.Result, Project: e.Project, Detail: e.Detail,
		Count: max(e.Count, 1), AttemptedUser: e.AttemptedUser, RemoteAddr: e.RemoteAddr}
}

// auditFilter parses q with the audit package's Harbor-style syntax.
func auditFilter(c *call) (audit.Filter, error) {
	f, err := audit.ParseQuery(unescapeQ(c.r.URL.Query().Get("q")))
	if err != nil {
		return f, err // invalid: 400 with what is wrong
	}
	keys, err := parseSort(c.r.URL.Query().Get("sort"), "op_time")
	if err != nil {
		return f, err
	}
	f.OldestFirst = len(keys) == 1 && !keys[0].desc
	return f, nil
}

func (a *API) listAuditLogs(c *call) error {
	if err := c.requireAdmin(permOn(rbac.ResourceLog, rbac.ActionList)); err != nil {
		return err
	}
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	return a.queryAudit(c, f)
}

// listProjectLogs answers a project's entries only, whatever q says.
func (a *API) listProjectLogs(c *call) error {
	f, err := projectLogFilter(c)
	if err != nil {
		return err
	}
	return a.queryAudit(c, f)
}

// projectLogFilter admits who may list the log of the request's project
// and reads q for that log alone.
func projectLogFilter(c *call) (audit.Filter, error) {
	p, err := c.project()
	if err != nil {
		return audit.Filter{}, err
	}
	if err := c.require(p.Name, "", permOn(rbac.ResourceLog, rbac.ActionList)); err != nil {
		return audit.Filter{}, err
	}
	f, err := auditFilter(c)
	if err != nil {
		return f, err
	}
	if f.Project != "" && f.Project != p.Name {
		return f, badRequest("q names project " + f.Project + ", but this is the log of " + p.Name)
	}
	// By the project's id: entries of an earlier project that held this
	// name (deleted, then the name taken again) are not this project's.
	f.Project, f.ProjectID = "", p.ID
	return f, nil
}

func (a *API) queryAudit(c *call, f audit.Filter) error {
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	es, total, err := a.deps.Audit.Query(c.ctx(), f, audit.Page{Offset: pg.offset(), Limit: pg.size})
	if err != nil {
		return err
	}
	out := make([]AuditLog, 0, len(es))
	for _, e := range es {
		out = append(out, auditJSON(e))
	}
	return c.paged(pg, total, out)
}
