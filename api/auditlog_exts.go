package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/rbac"
)

// AuditLogExt is an audit entry in Harbor's newer shape (AuditLogExt):
// the operation as a verb (create, update, delete, pull, login, ...), what
// it was done to, and whether it succeeded.
type AuditLogExt struct {
	ID                   int64     `json:"id"`
	Username             string    `json:"username"`
	Resource             string    `json:"resource"`
	ResourceType         string    `json:"resource_type"`
	Operation            string    `json:"operation" doc:"create, update, delete, pull, login, logout, ..."`
	OperationDescription string    `json:"operation_description"`
	OperationResult      bool      `json:"operation_result"`
	OpTime               time.Time `json:"op_time"`
}

// AuditLogEventType is one kind of audited event: Harbor's
// AuditLogEventType, spelled <operation>_<resource_type>.
type AuditLogEventType struct {
	EventType string `json:"event_type"`
}

// extOperations maps berth's named actions to Harbor's operation and
// resource type; registry events (push, pull, delete) keep the entry's
// resource type, and API changes (operation ids such as createRegistry)
// take the verb their id starts with.
var extOperations = map[string][2]string{
	audit.ActionPush:           {"create", ""},
	audit.ActionPull:           {"pull", ""},
	audit.ActionDelete:         {"delete", ""},
	audit.ActionLogin:          {"login", audit.ResourceUser},
	audit.ActionLoginFailure:   {"login", audit.ResourceUser},
	audit.ActionLogout:         {"logout", audit.ResourceUser},
	audit.ActionRoleChange:     {"update", "project_member"},
	audit.ActionMemberAdd:      {"create", "project_member"},
	audit.ActionMemberRemove:   {"delete", "project_member"},
	audit.ActionRobotCreate:    {"create", audit.ResourceRobot},
	audit.ActionRobotDelete:    {"delete", audit.ResourceRobot},
	audit.ActionRobotUpdate:    {"update", audit.ResourceRobot},
	audit.ActionProjectCreate:  {"create", audit.ResourceProject},
	audit.ActionProjectDelete:  {"delete", audit.ResourceProject},
	audit.ActionProjectUpdate:  {"update", audit.ResourceProject},
	audit.ActionUserCreate:     {"create", audit.ResourceUser},
	audit.ActionUserDelete:     {"delete", audit.ResourceUser},
	audit.ActionPasswordChange: {"update", audit.ResourceUser},
}

// extEventTypes are the event types berth records, as Harbor names them.
var extEventTypes = []string{"create_artifact", "delete_artifact", "pull_artifact", "create_tag", "delete_tag",
	"delete_repository", "create_project", "update_project", "delete_project", "create_project_member",
	"update_project_member", "delete_project_member", "create_robot", "update_robot", "delete_robot",
	"create_user", "update_user", "delete_user", "login_user", "logout_user", "update_configure"}

func auditExtJSON(e audit.Entry) AuditLogExt {
	op, typ := extOperation(e)
	desc := e.Detail
	if desc == "" {
		desc = e.Action + " " + e.Resource
	}
	if e.Count > 1 {
		desc += " (" + strconv.Itoa(e.Count) + " times)"
	}
	return AuditLogExt{ID: e.ID, Username: e.Actor, Resource: e.Resource, ResourceType: typ, Operation: op,
		OperationDescription: desc, OperationResult: e.Result != audit.ResultFailure, OpTime: e.Time.UTC()}
}

// extOperation is Harbor's operation and resource type of an entry.
func extOperation(e audit.Entry) (string, string) {
	if m, ok := extOperations[e.Action]; ok {
		if m[1] == "" {
			return m[0], e.ResourceType
		}
		return m[0], m[1]
	}
	// An operation id: its leading lower-case verb (createRegistry ->
	// create); any other action as it is.
	if i := strings.IndexFunc(e.Action, unicode.IsUpper); i > 0 {
		return e.Action[:i], e.ResourceType
	}
	return e.Action, e.ResourceType
}

func (a *API) auditLogExtRoutes() []route {
	get := http.MethodGet
	qQuery := param{"q", "string", "Filter, as /audit-logs takes it (keys: username, operation, resource, resource_type, project, actor_kind, result, op_time=[from~to])", false}
	return []route{
		{method: get, path: "/auditlog-exts", id: "listAuditLogExts", tag: "auditlog",
			summary: "Query the audit log in Harbor's AuditLogExt shape, newest first: everything for system admins, one project's entries (q project=<name>) for its members who may read its log",
			query:   append([]param{qQuery, sorting}, paging...), resp: []AuditLogExt{}, paged: true, handle: a.listAuditLogExts},
		{method: get, path: "/auditlog-exts/events", id: "listAuditLogEventTypes", tag: "auditlog",
			summary: "The event types berth audits, as Harbor names them (signed-in callers)",
			resp:    []AuditLogEventType{}, handle: a.listAuditLogEventTypes},
		{method: get, path: "/projects/{project_name}/auditlog-exts", id: "getLogExts", tag: "project",
			summary: "Query a project's audit log in Harbor's AuditLogExt shape, newest first (same q keys as /audit-logs)",
			query:   append([]param{qQuery, sorting}, paging...), resp: []AuditLogExt{}, paged: true, handle: a.getLogExts},
	}
}

func (a *API) listAuditLogExts(c *call) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	admin, err := c.isAdmin()
	if err != nil {
		return err
	}
	if !admin {
		if f.Project == "" {
			return c.denied("only system administrators see the whole audit log; name a project with q=project=<name>, or use /projects/{project_name}/auditlog-exts")
		}
		p, err := a.deps.Projects.Get(c.ctx(), f.Project)
		if err != nil {
			return err
		}
		if err := c.require(p.Name, "", permOn(rbac.ResourceLog, rbac.ActionList)); err != nil {
			return err
		}
		f.Project, f.ProjectID = "", p.ID
	}
	return a.queryAuditExt(c, f)
}

func (a *API) getLogExts(c *call) error {
	f, err := projectLogFilter(c)
	if err != nil {
		return err
	}
	return a.queryAuditExt(c, f)
}

func (a *API) queryAuditExt(c *call, f audit.Filter) error {
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	es, total, err := a.deps.Audit.Query(c.ctx(), f, audit.Page{Offset: pg.offset(), Limit: pg.size})
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(es, func(e *audit.Entry) AuditLogExt { return auditExtJSON(*e) }))
}

func (a *API) listAuditLogEventTypes(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	out := make([]AuditLogEventType, 0, len(extEventTypes))
	for _, t := range extEventTypes {
		out = append(out, AuditLogEventType{EventType: t})
	}
	return c.json(http.StatusOK, out)
}
