package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/api"
)

func addMember(user string, roleID int) map[string]any {
	return map[string]any{"role_id": roleID, "member_user": map[string]any{"username": user}}
}

// Nobody grants a role above their own, and a robot never grants one above
// what it holds or what its creator holds.
func TestMemberRoleCeiling(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "eve", "mallory", "dev")
	e.project("team", false, "owner=project-admin", "dev=developer")

	// A robot that may only add members holds no role's permissions.
	var adder api.RobotCreated
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("adder", "team", 30, "member:create", "member:update")).
		ok(t, http.StatusCreated, &adder)
	bot := cred{adder.Name, adder.Secret}
	msg := e.do(bot, http.MethodPost, "/projects/team/members", addMember("eve", 1)).fails(t, http.StatusForbidden, "FORBIDDEN")
	assert.Contains(t, msg, `you cannot grant project-admin in project "team"`)
	e.do(bot, http.MethodPost, "/projects/team/members", addMember("eve", 5)).fails(t, http.StatusForbidden, "FORBIDDEN")

	// The owner grants any role; the bot cannot raise a member either.
	r := e.do(as("owner"), http.MethodPost, "/projects/team/members", addMember("mallory", 5))
	r.ok(t, http.StatusCreated, nil)
	mid := strings.TrimPrefix(r.Header.Get("Location"), api.BasePath)
	e.do(bot, http.MethodPut, mid, map[string]any{"role_id": 1}).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("owner"), http.MethodPut, mid, map[string]any{"role_id": 4}).ok(t, http.StatusOK, nil)

	// The system admin may do it all; nobody else gained anything.
	e.do(admin(), http.MethodPost, "/projects/team/members", addMember("eve", 1)).ok(t, http.StatusCreated, nil)
	var p api.Project
	e.do(as("mallory"), http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, &p)
	assert.Equal(t, []int{4}, p.CurrentUserRoleIDs)
}

// A robot holding a role's permissions grants that role only while its
// creator holds them too.
func TestMemberRoleCeilingFollowsTheRobotsCreator(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "lead", "newbie", "later")
	e.project("team", false, "owner=project-admin", "lead=project-admin")
	guestPerms := []string{"project:read", "quota:read", "configuration:read", "scanner:read", "repository:list",
		"repository:read", "repository:pull", "artifact:list", "artifact:read", "tag:list", "accessory:list", "scan:read",
		"sbom:read", "helm-chart:list", "helm-chart:read", "helm-chart-version:list", "helm-chart-version:read",
		"member:list", "member:read", "label:list", "label:read", "member:create"}
	var bot api.RobotCreated
	e.do(as("lead"), http.MethodPost, "/robots", robotBody("onboarder", "team", 30, guestPerms...)).ok(t, http.StatusCreated, &bot)
	robot := cred{bot.Name, bot.Secret}
	e.do(robot, http.MethodPost, "/projects/team/members", addMember("newbie", 3)).ok(t, http.StatusCreated, nil)
	e.do(robot, http.MethodPost, "/projects/team/members", addMember("owner", 2)).fails(t, http.StatusForbidden, "FORBIDDEN")

	// Its creator demoted to limited guest, it can grant guest no longer.
	var members []api.ProjectMemberEntity
	e.do(as("owner"), http.MethodGet, "/projects/team/members?entityname=lead", nil).ok(t, http.StatusOK, &members)
	assert.Len(t, members, 1)
	e.do(as("owner"), http.MethodPut, "/projects/team/members/"+strconv.FormatInt(members[0].ID, 10), map[string]any{"role_id": 5}).
		ok(t, http.StatusOK, nil)
	msg := e.do(robot, http.MethodPost, "/projects/team/members", addMember("later", 3)).fails(t, http.StatusForbidden, "FORBIDDEN")
	assert.Contains(t, msg, `the robot's creator "lead" does not hold it there`)
}
