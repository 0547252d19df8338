package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/core"
)

// Members are numbered as Harbor numbers them: the listing, the Location
// of a new member and /members/{mid} all use the number, the JSON carries
// numbers where Harbor's ProjectMemberEntity has int64, and entity_id
// comes from the WithEntityIDs hook.
func TestMemberNumericIDs(t *testing.T) {
	boom := fmt.Errorf("directory down: %w", core.ErrUnavailable)
	var failing bool
	e := newEnv(t, api.WithEntityIDs(func(_ context.Context, kind, name string) (int64, error) {
		switch {
		case failing:
			return 0, boom
		case kind == api.EntityUser:
			return int64(100 + len(name)), nil
		}
		return 0, core.ErrNotFound
	}))
	e.user("owner", "alice", "guest")
	e.project("team", false, "owner=project-admin", "guest=guest")
	e.project("other", false, "owner=project-admin")

	r := e.do(as("owner"), http.MethodPost, "/projects/team/members",
		map[string]any{"role_id": 2, "member_user": map[string]any{"username": "alice"}})
	r.ok(t, http.StatusCreated, nil)
	loc := strings.TrimPrefix(r.Header.Get("Location"), api.BasePath)
	assert.Regexp(t, `^/projects/team/members/[0-9]+$`, loc)
	e.do(as("owner"), http.MethodPost, "/projects/team/members",
		map[string]any{"role_id": 3, "member_group": map[string]any{"group_name": "devs"}}).ok(t, http.StatusCreated, nil)

	var raw map[string]any
	e.do(as("guest"), http.MethodGet, loc, nil).ok(t, http.StatusOK, &raw)
	for _, k := range []string{"id", "project_id", "entity_id", "role_id"} {
		assert.IsType(t, float64(0), raw[k], "%s is a JSON number", k)
	}
	var m api.ProjectMemberEntity
	e.do(as("guest"), http.MethodGet, loc, nil).ok(t, http.StatusOK, &m)
	assert.Equal(t, loc, "/projects/team/members/"+strconv.FormatInt(m.ID, 10))
	assert.Equal(t, "alice", m.EntityName)
	assert.Equal(t, int64(105), m.EntityID)

	var all []api.ProjectMemberEntity
	e.do(as("guest"), http.MethodGet, "/projects/team/members", nil).ok(t, http.StatusOK, &all)
	ids := map[string]int64{}
	for _, x := range all {
		ids[x.EntityName] = x.EntityID
		assert.NotZero(t, x.ID)
	}
	assert.Equal(t, map[string]int64{"devs": 0, "alice": 105, "guest": 105, "owner": 105}, ids)

	// The number works for updates and deletes; the old opaque id still
	// names the grant for one release.
	e.do(as("owner"), http.MethodPut, loc, api.RoleRequest{RoleID: 4}).ok(t, http.StatusOK, nil)
	legacy := "/projects/team/members/" + base64.RawURLEncoding.EncodeToString([]byte("user:alice"))
	e.do(as("owner"), http.MethodGet, legacy, nil).ok(t, http.StatusOK, &m)
	assert.Equal(t, "maintainer", m.RoleName)

	// A number of another project's grant, or no number at all: 404.
	var others []api.ProjectMemberEntity
	e.do(as("owner"), http.MethodGet, "/projects/other/members", nil).ok(t, http.StatusOK, &others)
	require.Len(t, others, 1)
	e.do(as("owner"), http.MethodGet, "/projects/team/members/"+strconv.FormatInt(others[0].ID, 10), nil).
		fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("owner"), http.MethodGet, "/projects/team/members/99999999999999999999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("owner"), http.MethodGet, "/projects/team/members/12ab", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(anonymous, http.MethodGet, loc, nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(as("alice"), http.MethodDelete, loc, nil).fails(t, http.StatusForbidden, "FORBIDDEN")

	e.do(as("owner"), http.MethodDelete, loc, nil).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodGet, loc, nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	// The hook's failure is the request's.
	failing = true
	e.do(as("owner"), http.MethodGet, "/projects/other/members", nil).fails(t, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
}
