package api

import "net/http"

// route is one endpoint: what the router registers and what the OpenAPI
// document describes, from the same value, so they cannot drift apart.
type route struct {
	method  string
	path    string // under BasePath, with {wildcards}
	id      string // OpenAPI operationId
	tag     string
	summary string
	query   []param
	body    any  // a value of the request body's type, or nil
	resp    any  // a value of the success body's type, or nil
	status  int  // success status; 0 is 200
	text    bool // the success body is text/plain
	paged   bool // X-Total-Count and Link headers
	handle  func(*call) error
}

// param documents a query or path parameter.
type param struct {
	name, typ, desc string
	required        bool
}

// pathParamDoc documents the wildcards used in paths.
func pathParamDoc(name string) string {
	switch name {
	case "project_name_or_id":
		return "Project name, or its numeric ID (send X-Is-Resource-Name: true for a name made of digits)"
	case "project_name":
		return "Project name"
	case "mid":
		return "Member ID, as returned by the member listing (a number)"
	case "username":
		return "User name, or its numeric user_id (send X-Is-Resource-Name: true for a name made of digits)"
	case "robot_name":
		return "Full robot name (robot$<name> or robot$<project>+<name>), or the robot's numeric id"
	case "repository_name":
		return "Repository name without the project; encode '/' as %2F (or %252F, as Harbor clients do)"
	case "reference":
		return "Artifact digest (sha256:...) or tag"
	case "tag_name":
		return "Tag name"
	case "meta_name":
		return "Project metadata name, e.g. auto_scan (see listProjectMetadatas)"
	}
	return name
}

// sorting documents the sort parameter of the listings that take it.
var sorting = param{"sort", "string", "Order of the whole listing: comma-separated fields, '-' first for descending " +
	"(e.g. -creation_time); a field the listing does not sort by is refused with 400 naming those it does", false}

// paging documents the page and page_size parameters of every listing.
var paging = []param{{"page", "integer", "Page number, from 1 (default 1)", false},
	{"page_size", "integer", "Page size, 1 to 10000 (default 10); 0 for all (as many as the listing serves at once, at least 100, with a Link to the rest)", false}}

const (
	pProject = "/projects/{project_name_or_id}"
	pMember  = pProject + "/members/{mid}"
	pRepos   = "/projects/{project_name}/repositories"
	pRepo    = pRepos + "/{repository_name}"
	pArt     = pRepo + "/artifacts/{reference}"
	pUser    = "/users/{username}"
	pRobot   = "/robots/{robot_name}"
)

func (a *API) routeTable() []route {
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	qQuery := param{"q", "string", "Filter, Harbor's syntax: comma-separated terms k=v (exact), k=~v (fuzzy), k=[min~max] (range), k={a b} (any), k=(a b) (all), URL-encoded once or twice; the operation's summary names the keys, and a form a key does not take is refused with 400", false}
	qWithTag := param{"with_tag", "boolean", "Include the tags of each artifact (default true)", false}
	qArtifact := []param{qWithTag,
		{"with_scan_overview", "boolean", "Include the latest vulnerability report's summary (default false)", false},
		{"with_sbom_overview", "boolean", "Include the latest SBOM generation (default false)", false},
		{"with_signature", "boolean", "Include the content trust verdict and verified signers; sets tags' signed (default false)", false},
		{"with_label", "boolean", "Include the labels attached to each artifact (default false)", false},
		{"with_immutable_status", "boolean", "Set tags' immutable from the project's immutability rules (default false)", false}}
	core := []route{
		{method: get, path: "/ping", id: "getPing", tag: "system", summary: "Answer Pong", text: true, handle: a.ping},
		{method: get, path: "/systeminfo", id: "getSystemInfo", tag: "system", summary: "General information about the server",
			resp: GeneralInfo{}, handle: a.systemInfo},
		{method: get, path: "/openapi.json", id: "getOpenAPI", tag: "system", summary: "This document",
			resp: map[string]any{}, handle: a.openAPIDoc},

		{method: get, path: "/projects", id: "listProjects", tag: "project",
			summary: "List the projects the caller may see (q keys: name, name=~substring, public, owner)",
			query: append([]param{qQuery, {"name", "string", "Keep projects whose name contains this", false},
				{"public", "boolean", "Keep public (true) or private (false) projects", false},
				{"owner", "string", "Keep projects created by this user", false}, sorting}, paging...),
			resp: []Project{}, paged: true, handle: a.listProjects},
		{method: http.MethodHead, path: "/projects", id: "headProject", tag: "project",
			summary: "Tell whether a project exists (200) or not (404)",
			query:   []param{{"project_name", "string", "The project name to look up", true}}, handle: a.headProject},
		{method: post, path: "/projects", id: "createProject", tag: "project",
			summary: "Create a project; its creator becomes its project admin", body: ProjectReq{}, status: http.StatusCreated,
			handle: a.createProject},
		{method: get, path: pProject, id: "getProject", tag: "project", summary: "Get a project", resp: Project{}, handle: a.getProject},
		{method: put, path: pProject, id: "updateProject", tag: "project", summary: "Change a project's visibility, metadata and quota",
			body: ProjectReq{}, handle: a.updateProject},
		{method: del, path: pProject, id: "deleteProject", tag: "project",
			summary: "Delete an empty project (412 while it holds repositories)", handle: a.deleteProject},

		{method: get, path: pProject + "/members", id: "listProjectMembers", tag: "member", summary: "List a project's members",
			query: append([]param{{"entityname", "string", "Keep members whose user or group name contains this", false}, sorting}, paging...),
			resp:  []ProjectMemberEntity{}, paged: true, handle: a.listMembers},
		{method: post, path: pProject + "/members", id: "createProjectMember", tag: "member",
			summary: "Grant a user or group a role in the project", body: ProjectMember{}, status: http.StatusCreated, handle: a.createMember},
		{method: get, path: pMember, id: "getProjectMember", tag: "member", summary: "Get one member",
			resp: ProjectMemberEntity{}, handle: a.getMember},
		{method: put, path: pMember, id: "updateProjectMember", tag: "member", summary: "Change a member's role",
			body: RoleRequest{}, handle: a.updateMember},
		{method: del, path: pMember, id: "deleteProjectMember", tag: "member", summary: "Remove a member", handle: a.deleteMember},

		{method: get, path: "/users", id: "listUsers", tag: "user",
			summary: "List users (system admins; " + userListDoc + ")",
			query:   append([]param{qQuery, {"username", "string", "Keep users whose name starts with this", false}, sorting}, paging...),
			resp:    []UserResp{}, paged: true, handle: a.listUsers},
		{method: post, path: "/users", id: "createUser", tag: "user", summary: "Create a local user (system admins)",
			body: UserCreationReq{}, status: http.StatusCreated, handle: a.createUser},
		{method: get, path: "/users/current", id: "getCurrentUserInfo", tag: "user", summary: "The signed-in user",
			resp: UserResp{}, handle: a.currentUser},
		{method: get, path: pUser, id: "getUser", tag: "user", summary: "Get a user (system admins, or the user)",
			resp: UserResp{}, handle: a.getUser},
		{method: del, path: pUser, id: "deleteUser", tag: "user", summary: "Delete a user and its memberships (system admins)",
			handle: a.deleteUser},
		{method: put, path: pUser + "/password", id: "updateUserPassword", tag: "user",
			summary: "Change a password (the user, with the old one; or a system admin)", body: PasswordReq{}, handle: a.setPassword},
		{method: put, path: pUser + "/sysadmin", id: "setUserSysAdmin", tag: "user", summary: "Grant or revoke system admin",
			body: UserSysAdminFlag{}, handle: a.setSysAdmin},

		{method: get, path: "/robots", id: "ListRobot", tag: "robot",
			summary: "List robots (" + robotListDoc + "); without a project, system admins only",
			query:   append([]param{qQuery, sorting}, paging...), resp: []Robot{}, paged: true, handle: a.listRobots},
		{method: post, path: "/robots", id: "CreateRobot", tag: "robot",
			summary: "Create a robot; the secret is in this answer only", body: RobotCreate{}, resp: RobotCreated{},
			status: http.StatusCreated, handle: a.createRobot},
		{method: get, path: pRobot, id: "GetRobotByID", tag: "robot", summary: "Get a robot (never its secret)",
			resp: Robot{}, handle: a.getRobot},
		{method: put, path: pRobot, id: "UpdateRobot", tag: "robot",
			summary: "Change a robot's description, permissions, duration or disabled flag", body: Robot{}, handle: a.updateRobot},
		{method: http.MethodPatch, path: pRobot, id: "RefreshSec", tag: "robot",
			summary: "Replace a robot's secret; the new one is in this answer only", body: RobotSec{}, resp: RobotSec{},
			handle: a.refreshRobot},
		{method: del, path: pRobot, id: "DeleteRobot", tag: "robot", summary: "Delete a robot", handle: a.deleteRobot},

		{method: get, path: pRepos, id: "listRepositories", tag: "repository",
			summary: "List a project's repositories (" + repoListDoc + ")",
			query:   append([]param{qQuery, sorting}, paging...), resp: []Repository{}, paged: true, handle: a.listRepositories},
		{method: get, path: pRepo, id: "getRepository", tag: "repository", summary: "Get a repository",
			resp: Repository{}, handle: a.getRepository},
		{method: del, path: pRepo, id: "deleteRepository", tag: "repository",
			summary: "Delete a repository with all its artifacts and tags", handle: a.deleteRepository},

		{method: get, path: pRepo + "/artifacts", id: "listArtifacts", tag: "artifact", summary: "List a repository's artifacts, newest first",
			query: append(append([]param{artifactQ, sorting}, qArtifact...), paging...), resp: []Artifact{}, paged: true, handle: a.listArtifacts},
		{method: get, path: pArt, id: "getArtifact", tag: "artifact", summary: "Get an artifact by digest or tag",
			query: qArtifact, resp: Artifact{}, handle: a.getArtifact},
		{method: del, path: pArt, id: "deleteArtifact", tag: "artifact", summary: "Delete an artifact and all its tags",
			handle: a.deleteArtifact},
		{method: get, path: pArt + "/tags", id: "listTags", tag: "artifact", summary: "List an artifact's tags",
			query: append([]param{tagQ, sorting}, paging...), resp: []Tag{}, paged: true, handle: a.listTags},
		{method: del, path: pArt + "/tags/{tag_name}", id: "deleteTag", tag: "artifact", summary: "Delete a tag, keeping the artifact",
			handle: a.deleteTag},

		{method: get, path: "/audit-logs", id: "listAuditLogs", tag: "auditlog",
			summary: "Query the audit log, newest first (system admins; q keys: username, operation, resource, resource_type, project, actor_kind, result, op_time=[from~to])",
			query:   append([]param{qQuery, sorting}, paging...), resp: []AuditLog{}, paged: true, handle: a.listAuditLogs},
		{method: get, path: "/projects/{project_name}/logs", id: "getLogs", tag: "auditlog",
			summary: "Query a project's audit log, newest first (same q keys as /audit-logs)",
			query:   append([]param{qQuery, sorting}, paging...), resp: []AuditLog{}, paged: true, handle: a.listProjectLogs},
	}
	// Optional feature groups, each in its own file, each empty unless its
	// With... option supplied the component behind it.
	core = append(core, a.scanRoutes()...)
	core = append(core, a.trustRoutes()...)
	core = append(core, a.gcRoutes()...)
	core = append(core, a.quotaRoutes()...)
	core = append(core, a.retentionRoutes()...)
	core = append(core, a.immutableRoutes()...)
	core = append(core, a.webhookRoutes()...)
	core = append(core, a.labelRoutes()...)
	core = append(core, a.auditPurgeRoutes()...)
	core = append(core, a.directoryRoutes()...)
	core = append(core, a.userPermissionRoutes()...)
	core = append(core, a.projectGroupRoutes()...)
	core = append(core, a.sysRoutes()...)
	core = append(core, a.repositoryGroupRoutes()...)
	core = append(core, a.scanReplRoutes()...)
	core = append(core, a.oidcRoutes()...)
	return append(core, a.replicationRoutes()...)
}
