package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// robotBody is a project robot creation request.
func robotBody(name, proj string, duration int, access ...string) map[string]any {
	var acc []map[string]string
	for _, a := range access {
		res, act, _ := strings.Cut(a, ":")
		acc = append(acc, map[string]string{"resource": res, "action": act})
	}
	return map[string]any{"name": name, "level": "project", "duration": duration,
		"permissions": []map[string]any{{"kind": "project", "namespace": proj, "access": acc}}}
}

func TestRobotSecretShownOnce(t *testing.T) {
	e := newEnv(t)
	e.user("owner")
	e.project("team", false, "owner=project-admin")
	e.push("team/app", "v1")

	r := e.do(as("owner"), http.MethodPost, "/robots", robotBody("ci", "team", 30, "repository:pull", "repository:list", "artifact:list"))
	var created api.RobotCreated
	r.ok(t, http.StatusCreated, &created)
	assert.Equal(t, "robot$team+ci", created.Name)
	assert.Len(t, created.Secret, 43)
	assert.Equal(t, e.clock.now().AddDate(0, 0, 30).Unix(), created.ExpiresAt)
	require.Positive(t, created.ID)
	assert.Equal(t, api.BasePath+"/robots/"+strconv.FormatInt(created.ID, 10), r.Header.Get("Location"))
	bot := cred{created.Name, created.Secret}

	// The robot works with Basic auth, within its permissions.
	assert.Equal(t, []string{"team/app"}, names(t, e.do(bot, http.MethodGet, "/projects/team/repositories", nil), "name"))
	e.do(bot, http.MethodDelete, "/projects/team/repositories/app", nil).fails(t, 403, "FORBIDDEN")
	e.do(bot, http.MethodGet, "/users/current", nil).fails(t, 403, "FORBIDDEN")
	assert.Equal(t, []string{"team"}, names(t, e.do(bot, http.MethodGet, "/projects", nil), "name"))

	// Never shown again: not by GET, not in listings.
	r = e.do(as("owner"), http.MethodGet, "/robots/robot$team+ci", nil)
	var got api.Robot
	r.ok(t, http.StatusOK, &got)
	assert.NotContains(t, string(r.Body), `"secret"`)
	assert.NotContains(t, string(r.Body), created.Secret)
	assert.Equal(t, "project", got.Level)
	assert.Equal(t, 30, got.Duration)
	assert.Equal(t, "owner", got.CreatedBy)
	assert.Equal(t, []api.RobotPermission{{Kind: "project", Namespace: "team", Access: []api.RobotAccess{
		{Resource: "repository", Action: "pull", Effect: "allow"},
		{Resource: "repository", Action: "list", Effect: "allow"},
		{Resource: "artifact", Action: "list", Effect: "allow"}}}}, got.Permissions)
	r = e.do(as("owner"), http.MethodGet, "/robots?q=Level%3Dproject,ProjectID%3D1", nil)
	assert.Equal(t, []string{"robot$team+ci"}, names(t, r, "name"))
	assert.NotContains(t, string(r.Body), `"secret"`)

	// Refresh: a new secret, once; the old one stops working.
	var sec api.RobotSec
	e.do(as("owner"), http.MethodPatch, "/robots/robot$team+ci", nil).ok(t, http.StatusOK, &sec)
	require.NotEqual(t, created.Secret, sec.Secret)
	e.do(bot, http.MethodGet, "/projects/team", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(cred{created.Name, sec.Secret}, http.MethodGet, "/projects/team/repositories", nil).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodPatch, "/robots/robot$team+ci", map[string]string{"secret": "mine"}).fails(t, 400, "BAD_REQUEST")
	e.do(as("owner"), http.MethodPatch, "/robots/robot$team+ci", map[string]string{}).ok(t, http.StatusOK, nil)
}

func TestRobotPermissions(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "dev", "maint", "other")
	e.project("team", false, "owner=project-admin", "dev=developer", "maint=maintainer")
	e.project("elsewhere", false, "other=project-admin")

	tests := []struct {
		name   string
		who    cred
		body   any
		status int
		msg    string
	}{
		{"developer", as("dev"), robotBody("a", "team", 1, "repository:pull"), 403, "developer cannot create robot"},
		{"maintainer", as("maint"), robotBody("a", "team", 1, "repository:pull"), 403, "maintainer cannot create robot"},
		{"another project's admin", as("other"), robotBody("a", "team", 1, "repository:pull"), 403, ""},
		{"anonymous", anonymous, robotBody("a", "team", 1, "repository:pull"), 401, ""},
		{"beyond the creator's own permissions", as("owner"), robotBody("a", "team", 1, "repository:push", "quota:update"), 403,
			"you cannot grant a robot update quota in team"},
		{"unknown project", as("owner"), robotBody("a", "nope", 1, "repository:pull"), 404, ""},
		{"unknown resource", as("owner"), robotBody("a", "team", 1, "everything:pull"), 400, "unknown"},
		{"unknown action", as("owner"), robotBody("a", "team", 1, "repository:smash"), 400, "unknown"},
		{"no access", as("owner"), robotBody("a", "team", 1), 400, "no access"},
		{"bad duration", as("owner"), robotBody("a", "team", -5, "repository:pull"), 400, "duration"},
		{"bad name", as("owner"), robotBody("A B", "team", 1, "repository:pull"), 400, "robot name"},
		{"two projects", as("owner"), map[string]any{"name": "a", "level": "project", "permissions": []map[string]any{
			{"kind": "project", "namespace": "team", "access": []map[string]string{{"resource": "repository", "action": "pull"}}},
			{"kind": "project", "namespace": "elsewhere", "access": []map[string]string{{"resource": "repository", "action": "pull"}}}}},
			400, "cannot hold permissions"},
		{"a given secret", as("owner"), map[string]any{"name": "a", "level": "project", "secret": "x"}, 400, "generates"},
		{"system robot by a project admin", as("owner"), map[string]any{"name": "a", "level": "system", "permissions": []map[string]any{
			{"kind": "project", "namespace": "team", "access": []map[string]string{{"resource": "repository", "action": "pull"}}}}}, 403, ""},
		{"system kind", admin(), map[string]any{"name": "a", "level": "system", "permissions": []map[string]any{
			{"kind": "system", "namespace": "/", "access": []map[string]string{{"resource": "user", "action": "list"}}}}}, 400, "kind"},
		{"no level", as("owner"), map[string]any{"name": "a"}, 400, "level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, http.MethodPost, "/robots", tt.body)
			require.Equal(t, tt.status, r.Status, "%s", r.Body)
			assert.Contains(t, string(r.Body), tt.msg)
		})
	}

	// A robot that may create robots cannot mint one stronger than itself.
	var minter api.RobotCreated
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("minter", "team", -1, "robot:create", "repository:pull")).
		ok(t, http.StatusCreated, &minter)
	assert.Equal(t, int64(-1), minter.ExpiresAt)
	bot := cred{minter.Name, minter.Secret}
	e.do(bot, http.MethodPost, "/robots", robotBody("pusher", "team", 1, "repository:push")).fails(t, 403, "FORBIDDEN")
	e.do(bot, http.MethodPost, "/robots", robotBody("puller", "team", 1, "repository:pull")).ok(t, http.StatusCreated, nil)
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("puller", "team", 1, "repository:pull")).fails(t, 409, "CONFLICT")

	// System robots are for system admins, in named projects or all.
	sys := map[string]any{"name": "mirror", "level": "system", "duration": -1, "permissions": []map[string]any{
		{"kind": "project", "namespace": "*", "access": []map[string]string{{"resource": "repository", "action": "pull"}}},
		{"kind": "project", "namespace": "team", "access": []map[string]string{{"resource": "repository", "action": "push"}}}}}
	var mirror api.RobotCreated
	e.do(admin(), http.MethodPost, "/robots", sys).ok(t, http.StatusCreated, &mirror)
	assert.Equal(t, "robot$mirror", mirror.Name)
	e.do(as("owner"), http.MethodGet, "/robots/robot$mirror", nil).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodGet, "/robots", nil).fails(t, 403, "FORBIDDEN")
	assert.Equal(t, []string{"robot$mirror", "robot$team+minter", "robot$team+puller"},
		names(t, e.do(admin(), http.MethodGet, "/robots", nil), "name"))
	assert.Equal(t, []string{"robot$mirror"}, names(t, e.do(admin(), http.MethodGet, "/robots?q=level%3Dsystem", nil), "name"))
	assert.Equal(t, []string{"elsewhere", "team"},
		names(t, e.do(cred{mirror.Name, mirror.Secret}, http.MethodGet, "/projects", nil), "name"))
	sys["name"], sys["permissions"] = "ghost", []map[string]any{{"kind": "project", "namespace": "nope",
		"access": []map[string]string{{"resource": "repository", "action": "pull"}}}}
	e.do(admin(), http.MethodPost, "/robots", sys).fails(t, 400, "BAD_REQUEST")
	e.do(as("dev"), http.MethodGet, "/robots?q=project%3Dteam", nil).fails(t, 403, "FORBIDDEN")
	e.do(as("maint"), http.MethodGet, "/robots?q=project%3Dteam", nil).ok(t, http.StatusOK, nil)
	e.do(as("maint"), http.MethodGet, "/robots?q=color%3Dred", nil).fails(t, 400, "BAD_REQUEST")
}

func TestRobotUpdateAndDelete(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "maint")
	e.project("team", false, "owner=project-admin", "maint=maintainer")
	var c api.RobotCreated
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("ci", "team", 10, "repository:pull")).ok(t, http.StatusCreated, &c)
	bot := cred{c.Name, c.Secret}
	path := "/robots/" + c.Name

	// A client sends back what it read, changed.
	var rb api.Robot
	e.do(as("owner"), http.MethodGet, path, nil).ok(t, http.StatusOK, &rb)
	rb.Description = "builds"
	rb.Permissions[0].Access = append(rb.Permissions[0].Access, api.RobotAccess{Resource: "repository", Action: "list"})
	e.do(as("maint"), http.MethodPut, path, rb).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodPut, path, rb).ok(t, http.StatusOK, nil)
	var after api.Robot
	e.do(as("owner"), http.MethodGet, path, nil).ok(t, http.StatusOK, &after)
	assert.Equal(t, "builds", after.Description)
	assert.Len(t, after.Permissions[0].Access, 2)
	assert.Equal(t, rb.ExpiresAt, after.ExpiresAt, "an unchanged duration keeps the expiry")
	e.do(bot, http.MethodGet, "/projects/team/repositories", nil).ok(t, http.StatusOK, nil)

	e.do(as("owner"), http.MethodPut, path, map[string]any{"permissions": []map[string]any{{"kind": "project", "namespace": "team",
		"access": []map[string]string{{"resource": "quota", "action": "update"}}}}}).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodPut, path, map[string]any{"name": "robot$team+other"}).fails(t, 400, "BAD_REQUEST")
	e.do(as("owner"), http.MethodPut, path, map[string]any{"level": "system"}).fails(t, 400, "BAD_REQUEST")
	e.do(as("owner"), http.MethodPut, path, map[string]any{"duration": -1}).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodGet, path, nil).ok(t, http.StatusOK, &after)
	assert.Equal(t, int64(-1), after.ExpiresAt)
	assert.Equal(t, -1, after.Duration)

	e.do(as("owner"), http.MethodPut, path, map[string]any{"disable": true}).ok(t, http.StatusOK, nil)
	e.do(bot, http.MethodGet, "/projects/team", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(as("owner"), http.MethodPut, path, map[string]any{"disable": false}).ok(t, http.StatusOK, nil)
	e.do(bot, http.MethodGet, "/projects/team/repositories", nil).ok(t, http.StatusOK, nil)

	e.do(as("maint"), http.MethodDelete, path, nil).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodDelete, path, nil).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodGet, path, nil).fails(t, 404, "NOT_FOUND")
	e.do(bot, http.MethodGet, "/projects/team", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(as("owner"), http.MethodGet, "/robots/not-a-robot", nil).fails(t, 404, "NOT_FOUND")
}

func TestRobotExpiry(t *testing.T) {
	e := newEnv(t)
	e.user("owner")
	e.project("team", false, "owner=project-admin")
	var c api.RobotCreated
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("ci", "team", 1, "repository:list")).ok(t, http.StatusCreated, &c)
	bot := cred{c.Name, c.Secret}
	e.do(bot, http.MethodGet, "/projects/team/repositories", nil).ok(t, http.StatusOK, nil)

	e.clock.advance(25 * time.Hour)
	// The Gatekeeper caches a successful login for a minute of real time;
	// drop it, as a server would after that minute.
	e.gk.Invalidate()
	e.do(bot, http.MethodGet, "/projects/team/repositories", nil).fails(t, 401, "UNAUTHORIZED")

	// A default duration applies when none is given.
	var d api.RobotCreated
	body := robotBody("nightly", "team", 0, "repository:list")
	delete(body, "duration")
	e.do(as("owner"), http.MethodPost, "/robots", body).ok(t, http.StatusCreated, &d)
	assert.Equal(t, e.clock.now().AddDate(0, 0, api.DefaultRobotDuration).Unix(), d.ExpiresAt)
}

func TestDeleteProjectDeletesItsRobots(t *testing.T) {
	e := newEnv(t)
	e.user("owner")
	e.project("team", false, "owner=project-admin")
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("ci", "team", 1, "repository:pull")).ok(t, http.StatusCreated, nil)
	e.do(as("owner"), http.MethodDelete, "/projects/team", nil).ok(t, http.StatusOK, nil)
	var rs []json.RawMessage
	e.do(admin(), http.MethodGet, "/robots", nil).ok(t, http.StatusOK, &rs)
	assert.Empty(t, rs)
}
