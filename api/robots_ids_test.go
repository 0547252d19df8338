package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestRobotsAddressedByID(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "stranger")
	e.project("team", false, "owner=project-admin")

	var created api.RobotCreated
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("ci", "team", 30, "repository:pull", "project:read")).ok(t, http.StatusCreated, &created)
	require.Positive(t, created.ID)
	path := fmt.Sprint("/robots/", created.ID)

	var got api.Robot
	e.do(as("owner"), http.MethodGet, path, nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, created.ID, got.ID)
	assert.Equal(t, "robot$team+ci", got.Name)
	var list []api.Robot
	e.do(as("owner"), http.MethodGet, "/robots?q=project%3Dteam", nil).ok(t, http.StatusOK, &list)
	require.Len(t, list, 1)
	assert.Equal(t, created.ID, list[0].ID)

	e.do(as("stranger"), http.MethodGet, path, nil).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodGet, "/robots/999", nil).fails(t, 403, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, "/robots/999", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(admin(), http.MethodGet, "/robots/999", nil).fails(t, 404, "NOT_FOUND")

	got.Description = "pulls for CI"
	e.do(as("owner"), http.MethodPut, path, got).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodGet, path, nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, "pulls for CI", got.Description)
	e.do(as("owner"), http.MethodPut, path, map[string]any{"duration": "long"}).fails(t, 400, "BAD_REQUEST")

	var sec api.RobotSec
	e.do(as("owner"), http.MethodPatch, path, nil).ok(t, http.StatusOK, &sec)
	e.do(cred{created.Name, sec.Secret}, http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, nil)

	e.do(as("stranger"), http.MethodDelete, path, nil).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodDelete, path, nil).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodGet, path, nil).fails(t, 404, "NOT_FOUND")

	var again api.RobotCreated
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("ci", "team", 30, "repository:pull", "project:read")).ok(t, http.StatusCreated, &again)
	assert.Greater(t, again.ID, created.ID, "ids are not reused")
}

// TestDisabledRobotIsToldSo: a disabled robot with its right secret
// learns why it is refused; a wrong secret learns nothing more.
func TestDisabledRobotIsToldSo(t *testing.T) {
	e := newEnv(t)
	e.user("owner")
	e.project("team", false, "owner=project-admin")
	var created api.RobotCreated
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("ci", "team", 30, "repository:pull", "project:read")).ok(t, http.StatusCreated, &created)
	bot := cred{created.Name, created.Secret}
	e.do(bot, http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, nil)

	e.do(as("owner"), http.MethodPut, fmt.Sprint("/robots/", created.ID), map[string]any{"disable": true}).ok(t, http.StatusOK, nil)
	msg := e.do(bot, http.MethodGet, "/projects/team", nil).fails(t, 401, "UNAUTHORIZED")
	assert.Contains(t, msg, "account disabled")
	msg = e.do(cred{created.Name, "wrong"}, http.MethodGet, "/projects/team", nil).fails(t, 401, "UNAUTHORIZED")
	assert.Equal(t, "invalid credentials", msg)

	// Expired: the same, at the clock's word.
	var old api.RobotCreated
	e.do(as("owner"), http.MethodPost, "/robots", robotBody("old", "team", 1, "repository:pull", "project:read")).ok(t, http.StatusCreated, &old)
	e.clock.advance(48 * 3600e9)
	msg = e.do(cred{old.Name, old.Secret}, http.MethodGet, "/projects/team", nil).fails(t, 401, "UNAUTHORIZED")
	assert.Contains(t, msg, "account expired")
}
