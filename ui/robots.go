package ui

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// robot is a robot account as the API lists it (never with its secret).
type robot struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Level        string `json:"level"`
	Disable      bool   `json:"disable"`
	ExpiresAt    int64  `json:"expires_at"`
	CreationTime string `json:"creation_time"`
	CreatedBy    string `json:"created_by"`
	Permissions  []struct {
		Namespace string `json:"namespace"`
		Access    []struct {
			Resource string `json:"resource"`
			Action   string `json:"action"`
		} `json:"access"`
	} `json:"permissions"`
}

// Never tells a robot that does not expire.
func (r robot) Never() bool { return r.ExpiresAt <= 0 }

// Expired tells a robot past its expiry.
func (r robot) Expired() bool { return r.ExpiresAt > 0 && time.Now().Unix() > r.ExpiresAt }

// Expires is the expiry time, formatted.
func (r robot) Expires() string { return localTime(time.Unix(r.ExpiresAt, 0)) }

// Scope lists the projects the robot holds permissions in.
func (r robot) Scope() string {
	ns := make([]string, 0, len(r.Permissions))
	for _, p := range r.Permissions {
		ns = append(ns, p.Namespace)
	}
	return strings.Join(ns, ", ")
}

// Actions counts the robot's permissions.
func (r robot) Actions() int {
	n := 0
	for _, p := range r.Permissions {
		n += len(p.Access)
	}
	return n
}

// robotPerm is a permission the create form offers: resource:action and
// its catalog key. These are the ones Harbor's portal offers for
// repositories and artifacts; Default ones start ticked.
type robotPerm struct {
	Value   string
	Key     string
	Default bool
}

var robotPerms = [...]robotPerm{
	{"repository:pull", "robot.perm.pull", true}, {"repository:push", "robot.perm.push", true},
	{"repository:delete", "robot.perm.repodelete", false}, {"repository:list", "robot.perm.repolist", false},
	{"artifact:read", "robot.perm.artread", false}, {"artifact:list", "robot.perm.artlist", false},
	{"artifact:delete", "robot.perm.artdelete", false}, {"tag:list", "robot.perm.taglist", false},
	{"tag:create", "robot.perm.tagcreate", false}, {"tag:delete", "robot.perm.tagdelete", false},
	{"artifact-label:create", "robot.perm.labeladd", false}, {"artifact-label:delete", "robot.perm.labeldel", false},
	{"scan:create", "robot.perm.scan", false}, {"scan:stop", "robot.perm.scanstop", false},
	{"sbom:create", "robot.perm.sbom", false},
}

// robotsView is the list of a project's robots (Project set) or of the
// system robots.
type robotsView struct {
	Project *project
	List    *listQuery
	Robots  []robot
	Action  string // where the forms post: the list's path
}

// Perms lists the permissions the create form offers.
func (robotsView) Perms() []robotPerm { return robotPerms[:] }

// robotScope is where a robot page is: a project's tab or the system
// page; prefix is the portal path of its list.
type robotScope struct {
	project *project
	prefix  string
}

// scopeOf reads the page's scope; for a project it reads the project
// (answering 404 when the user may not see it).
func (u *UI) scopeOf(w http.ResponseWriter, r *http.Request, s *session) (robotScope, bool) {
	if r.PathValue("id") == "" {
		return robotScope{prefix: "/admin/robots"}, true
	}
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return robotScope{}, false
	}
	return robotScope{project: p, prefix: "/projects/" + itoa(p.ProjectID) + "/robots"}, true
}

// view builds the page's view in its scope.
func (sc robotScope) view(s *session, title string, data any) *view {
	if sc.project != nil {
		return projectView(s, sc.project, "robots", title, data)
	}
	return &view{User: s.user, CSRF: s.api.csrf, Nav: "robots", Title: title, Data: data}
}

func (u *UI) robotsPage(w http.ResponseWriter, r *http.Request, s *session) {
	sc, ok := u.scopeOf(w, r, s)
	if !ok {
		return
	}
	l := parseList(r, "name", "creation_time", "expires_at")
	q := l.apiParams()
	terms := []string{"level=system"}
	if sc.project != nil {
		terms = []string{"project_id=" + itoa(sc.project.ProjectID)}
	}
	if t := qText(l.Search); t != "" {
		terms = append(terms, "name=~"+t)
	}
	q.Set("q", strings.Join(terms, ","))
	v := robotsView{Project: sc.project, List: l, Action: sc.prefix}
	a, err := s.api.get("/robots?"+q.Encode(), &v.Robots)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	u.render(w, r, 0, "robots", sc.view(s, "robot.title", v))
}

// createRobot creates a robot from the form and shows its secret, once:
// in this answer, never in a cookie or a URL.
func (u *UI) createRobot(w http.ResponseWriter, r *http.Request, s *session) {
	sc, ok := u.scopeOf(w, r, s)
	if !ok {
		return
	}
	f := r.PostForm
	req := map[string]any{"name": strings.TrimSpace(f.Get("name")), "description": strings.TrimSpace(f.Get("description")),
		"level": "system"}
	switch d := strings.TrimSpace(f.Get("duration")); {
	case f.Get("never") == "true":
		req["duration"] = -1
	case d != "":
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			u.redirect(w, r, sc.prefix, "", errorText(u.cat.text(language(r), "robot.badduration")))
			return
		}
		req["duration"] = n
	}
	var access []map[string]string
	for _, v := range f["perm"] {
		res, act, ok := strings.Cut(v, ":")
		if ok {
			access = append(access, map[string]string{"resource": res, "action": act})
		}
	}
	var namespaces []string
	switch {
	case sc.project != nil:
		req["level"], namespaces = "project", []string{sc.project.Name}
	case f.Get("all_projects") == "true":
		namespaces = []string{"*"}
	default:
		namespaces = strings.FieldsFunc(f.Get("projects"), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' })
	}
	perms := []map[string]any{}
	for _, ns := range namespaces {
		perms = append(perms, map[string]any{"kind": "project", "namespace": ns, "access": access})
	}
	req["permissions"] = perms
	var created struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
	}
	if _, err := s.api.send(http.MethodPost, "/robots", req, &created); err != nil {
		u.redirect(w, r, sc.prefix, "", err)
		return
	}
	u.showSecret(w, r, s, sc, "robot.createdok", created.Name, created.Secret)
}

// robotSecretView shows a robot's secret, the one time it is shown.
type robotSecretView struct {
	Project *project
	Message string // a catalog key
	Name    string
	Secret  string
	Back    string
}

func (u *UI) showSecret(w http.ResponseWriter, r *http.Request, s *session, sc robotScope, msg, name, secret string) {
	v := robotSecretView{Project: sc.project, Message: msg, Name: name, Secret: secret, Back: sc.prefix}
	u.render(w, r, 0, "robotsecret", sc.view(s, "robot.secrettitle", v))
}
