package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/label"
)

// q encodes a q parameter twice, as Harbor's clients send it.
func q(s string) string { return "q=" + url.QueryEscape(url.QueryEscape(s)) }

// walk reads a listing page by page (size items a page) and returns the
// field of every item in order, checking X-Total-Count on each page.
func walk(t *testing.T, e *env, who cred, path, field string, size int) []string {
	t.Helper()
	sep := "?"
	if u, _ := url.Parse(path); u.RawQuery != "" {
		sep = "&"
	}
	var out []string
	for pg := 1; ; pg++ {
		r := e.do(who, http.MethodGet, fmt.Sprintf("%s%spage=%d&page_size=%d", path, sep, pg, size), nil)
		got := fields(t, r, field)
		total, err := strconv.Atoi(r.Header.Get("X-Total-Count"))
		require.NoError(t, err, "X-Total-Count of %s", path)
		out = append(out, got...)
		if len(got) < size || len(out) >= total {
			require.Len(t, out, total, "%s", path)
			return out
		}
	}
}

// fields reads one field of each item of a JSON array, whatever its
// type, as text.
func fields(t *testing.T, r *response, field string) []string {
	t.Helper()
	var items []map[string]any
	r.ok(t, http.StatusOK, &items)
	out := []string{}
	for _, it := range items {
		switch v := it[field].(type) {
		case string:
			out = append(out, v)
		default:
			b, _ := json.Marshal(v)
			out = append(out, string(b))
		}
	}
	return out
}

func TestUsersListConventions(t *testing.T) {
	e := newEnv(t)
	e.user("carol", "alice", "dave", "bob")
	assert.Equal(t, []string{"dave", "carol", "bob", "alice", "admin"}, walk(t, e, admin(), "/users?sort=-username", "username", 2))
	assert.Equal(t, []string{"admin", "carol", "alice", "dave", "bob"}, walk(t, e, admin(), "/users?sort=user_id", "username", 2))
	assert.Equal(t, []string{"bob", "alice"}, walk(t, e, admin(), "/users?sort=-username&"+q("username={alice bob zed}"), "username", 1))
	assert.Equal(t, []string{"admin", "alice", "carol", "dave"}, walk(t, e, admin(), "/users?"+q("username=~a"), "username", 3), "fuzzy is a substring")
	assert.Len(t, fields(t, e.do(admin(), http.MethodGet, "/users?page_size=0", nil), "username"), 5)
	msg := e.do(admin(), http.MethodGet, "/users?"+q("username=[a~b]"), nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	assert.Contains(t, msg, "username")
	msg = e.do(admin(), http.MethodGet, "/users?sort=password", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	assert.Contains(t, msg, "creation_time")
	e.do(as("alice"), http.MethodGet, "/users?sort=username", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}

func TestRobotsListConventions(t *testing.T) {
	e := newEnv(t)
	e.user("owner")
	e.project("team", false, "owner=project-admin")
	for i, n := range []string{"ci", "zulu", "alpha"} {
		e.do(as("owner"), http.MethodPost, "/robots", robotBody(n, "team", 30+i, "repository:pull")).ok(t, http.StatusCreated, nil)
		e.clock.advance(1e9)
	}
	p, err := e.projects.Get(t.Context(), "team")
	require.NoError(t, err)
	scope := "/robots?" + q(fmt.Sprintf("project_id=%d", p.ID))
	assert.Equal(t, []string{"robot$team+zulu", "robot$team+ci", "robot$team+alpha"}, walk(t, e, as("owner"), scope+"&sort=-name", "name", 1))
	assert.Equal(t, []string{"robot$team+alpha", "robot$team+zulu", "robot$team+ci"}, walk(t, e, as("owner"), scope+"&sort=-creation_time", "name", 2))
	assert.Equal(t, []string{"robot$team+zulu", "robot$team+ci"},
		walk(t, e, admin(), "/robots?sort=-expires_at&"+q("name={ci robot$team+zulu nope}"), "name", 1))
	assert.Equal(t, []string{"robot$team+alpha"}, walk(t, e, admin(), "/robots?"+q("name=~lph"), "name", 1))
	assert.Len(t, fields(t, e.do(admin(), http.MethodGet, "/robots?page_size=0", nil), "name"), 3)
	assert.Contains(t, e.do(admin(), http.MethodGet, "/robots?"+q("level=~proj"), nil).fails(t, 400, "BAD_REQUEST"), "level")
	assert.Contains(t, e.do(admin(), http.MethodGet, "/robots?sort=secret", nil).fails(t, 400, "BAD_REQUEST"), "expires_at")
	e.do(as("owner"), http.MethodGet, "/robots?sort=name", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}

func TestRepositoriesListConventions(t *testing.T) {
	e := newEnv(t)
	e.user("guest", "stranger")
	e.project("lib", false, "guest=guest")
	for _, r := range []string{"lib/b", "lib/c", "lib/a"} {
		e.push(r, "v1")
	}
	e.push("lib/b", "v2") // b is now the most recently updated
	path := "/projects/lib/repositories"
	assert.Equal(t, []string{"lib/c", "lib/b", "lib/a"}, walk(t, e, as("guest"), path+"?sort=-name", "name", 2))
	assert.Equal(t, []string{"lib/b", "lib/c", "lib/a"}, walk(t, e, as("guest"), path+"?sort=creation_time", "name", 1))
	assert.Equal(t, []string{"lib/b", "lib/a", "lib/c"}, walk(t, e, as("guest"), path+"?sort=-update_time", "name", 1))
	assert.Equal(t, []string{"lib/c", "lib/a"}, walk(t, e, as("guest"), path+"?sort=-name&"+q("name={a lib/c other/a}"), "name", 1))
	assert.Equal(t, []string{"lib/c"}, walk(t, e, as("guest"), path+"?"+q("name=~c"), "name", 1), "fuzzy is a substring of the full name")
	assert.Len(t, fields(t, e.do(as("guest"), http.MethodGet, path+"?page_size=0", nil), "name"), 3)
	assert.Contains(t, e.do(as("guest"), http.MethodGet, path+"?"+q("name=[a~b]"), nil).fails(t, 400, "BAD_REQUEST"), "name")
	assert.Contains(t, e.do(as("guest"), http.MethodGet, path+"?sort=size", nil).fails(t, 400, "BAD_REQUEST"), "update_time")
	e.do(as("stranger"), http.MethodGet, path+"?sort=name", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}

func TestArtifactsListConventions(t *testing.T) {
	e := newEnv(t)
	e.user("guest", "stranger")
	e.project("lib", false, "guest=guest")
	d1 := e.push("lib/app", "v1")
	d2 := e.push("lib/app", "v2")
	d3 := e.push("lib/app", "v3")
	require.NoError(t, retag(e, "lib/app", "v3", "latest"))
	d4 := e.push("lib/other", "x")
	path := "/projects/lib/repositories/app/artifacts"
	assert.Equal(t, []string{d3, d2, d1}, walk(t, e, as("guest"), path, "digest", 2), "newest first")
	assert.Equal(t, []string{d1, d2, d3}, walk(t, e, as("guest"), path+"?sort=push_time", "digest", 2))
	assert.Equal(t, []string{d3, d1}, walk(t, e, as("guest"), path+"?sort=-push_time&"+q("tags={v1 latest nope}"), "digest", 1))
	assert.Equal(t, []string{d3}, walk(t, e, as("guest"), path+"?"+q("tags=(v3 latest)"), "digest", 1))
	assert.Equal(t, []string{d2}, walk(t, e, as("guest"), path+"?"+q("tags=~2"), "digest", 1))
	assert.Equal(t, []string{d3, d2, d1}, walk(t, e, as("guest"), path+"?"+q("tags=*"), "digest", 2), "tagged")
	assert.Empty(t, walk(t, e, as("guest"), path+"?"+q("tags=nil"), "digest", 2), "untagged")
	assert.Equal(t, []string{d1, d3}, walk(t, e, as("guest"), path+"?sort=id&"+q("digest={"+d1+" "+d3+"}"), "digest", 1))
	assert.Equal(t, []string{d3, d2, d1}, walk(t, e, as("guest"), path+"?"+q("type=IMAGE,push_time=[2000-01-01 00:00:00~]"), "digest", 1))
	assert.Empty(t, walk(t, e, as("guest"), path+"?"+q("type={CHART UNKNOWN}"), "digest", 1))
	assert.Empty(t, walk(t, e, as("guest"), path+"?"+q("push_time=[~2000-01-01]"), "digest", 1))
	assert.Empty(t, walk(t, e, as("guest"), path+"?"+q("pull_time=[2000-01-01~]"), "digest", 1), "never pulled")
	assert.Len(t, walk(t, e, as("guest"), path+"?"+q("size=[1~]"), "digest", 2), 3)
	assert.Len(t, fields(t, e.do(as("guest"), http.MethodGet, path+"?page_size=0", nil), "digest"), 3)
	for _, bad := range []string{q("tags=[a~b]"), q("push_time=yesterday"), q("digest=~sha"), q("size=[x~]"), q("label_id=abc"), "sort=name"} {
		e.do(as("guest"), http.MethodGet, path+"?"+bad, nil).fails(t, 400, "BAD_REQUEST")
	}
	e.do(as("stranger"), http.MethodGet, path+"?sort=push_time", nil).fails(t, http.StatusForbidden, "FORBIDDEN")

	// A project's artifacts, the same way, and the latest of each repository.
	proj := "/projects/lib/artifacts"
	assert.Equal(t, []string{d1, d2, d3, d4}, walk(t, e, as("guest"), proj+"?sort=push_time", "digest", 3))
	assert.Equal(t, []string{d3, d4}, walk(t, e, as("guest"), proj+"?sort=push_time&latest_in_repository=true", "digest", 1))
	assert.Equal(t, []string{d4}, walk(t, e, as("guest"), proj+"?"+q("tags=x"), "digest", 1))
	e.do(as("guest"), http.MethodGet, proj+"?latest_in_repository=maybe", nil).fails(t, 400, "BAD_REQUEST")
	e.do(as("stranger"), http.MethodGet, proj, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}

func TestTagsListConventions(t *testing.T) {
	e := newEnv(t)
	e.user("guest", "stranger")
	e.project("lib", false, "guest=guest")
	e.push("lib/app", "b")
	for _, tag := range []string{"c", "a"} {
		require.NoError(t, retag(e, "lib/app", "b", tag))
	}
	path := "/projects/lib/repositories/app/artifacts/b/tags"
	assert.Equal(t, []string{"a", "b", "c"}, walk(t, e, as("guest"), path, "name", 2))
	assert.Equal(t, []string{"c", "b", "a"}, walk(t, e, as("guest"), path+"?sort=-name", "name", 2))
	assert.Equal(t, []string{"a", "c", "b"}, walk(t, e, as("guest"), path+"?sort=-push_time", "name", 1))
	assert.Equal(t, []string{"c", "a"}, walk(t, e, as("guest"), path+"?sort=-name&"+q("name={a c z}"), "name", 1))
	assert.Equal(t, []string{"b"}, walk(t, e, as("guest"), path+"?"+q("name=~b"), "name", 1))
	assert.Len(t, fields(t, e.do(as("guest"), http.MethodGet, path+"?page_size=0", nil), "name"), 3)
	e.do(as("guest"), http.MethodGet, path+"?"+q("name=[a~b]"), nil).fails(t, 400, "BAD_REQUEST")
	e.do(as("guest"), http.MethodGet, path+"?sort=size", nil).fails(t, 400, "BAD_REQUEST")
	e.do(as("stranger"), http.MethodGet, path, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}

func TestMembersListConventions(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "carla", "bea", "dan", "stranger")
	e.project("team", false, "owner=project-admin", "dan=guest", "carla=developer", "bea=maintainer")
	path := "/projects/team/members"
	assert.Equal(t, []string{"owner", "dan", "carla", "bea"}, walk(t, e, as("owner"), path+"?sort=-entity_name", "entity_name", 3))
	assert.Equal(t, []string{"owner", "carla", "dan", "bea"}, walk(t, e, as("owner"), path+"?sort=role_id,entity_name", "entity_name", 1))
	assert.Equal(t, []string{"dan", "carla", "bea"}, walk(t, e, as("owner"), path+"?sort=-entity_name&entityname=A", "entity_name", 1))
	assert.Len(t, fields(t, e.do(as("owner"), http.MethodGet, path+"?page_size=0", nil), "entity_name"), 4)
	e.do(as("owner"), http.MethodGet, path+"?sort=password", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("stranger"), http.MethodGet, path+"?sort=entity_name", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}

func TestUserGroupsListConventions(t *testing.T) {
	e, _ := groupEnv(t)
	for _, n := range []string{"ops", "dev-b", "dev-a"} {
		createdID(t, e.do(admin(), http.MethodPost, "/usergroups", api.UserGroup{GroupName: n, GroupType: 3}))
	}
	assert.Equal(t, []string{"ops", "dev-b", "dev-a"}, walk(t, e, admin(), "/usergroups", "group_name", 2), "by id")
	assert.Equal(t, []string{"dev-a", "dev-b", "ops"}, walk(t, e, admin(), "/usergroups?sort=group_name", "group_name", 2))
	assert.Equal(t, []string{"dev-a", "dev-b", "ops"}, walk(t, e, admin(), "/usergroups?sort=-id", "group_name", 1))
	assert.Equal(t, []string{"dev-b", "dev-a"}, walk(t, e, admin(), "/usergroups?sort=-group_name&"+q("group_name=~dev"), "group_name", 1))
	assert.Len(t, fields(t, e.do(admin(), http.MethodGet, "/usergroups?page_size=0", nil), "group_name"), 3)
	e.do(admin(), http.MethodGet, "/usergroups?sort=ldap", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("someone"), http.MethodGet, "/usergroups?sort=id", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}

func TestArtifactsByLabel(t *testing.T) {
	e, store := labelEnv(t)
	ctx := t.Context()
	d1 := e.push("shop/api", "v1")
	d2 := e.push("shop/api", "v2")
	e.push("shop/api", "v3")
	prod, err := store.Create(ctx, label.Label{Name: "prod", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	beta, err := store.Create(ctx, label.Label{Name: "beta", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	attach := func(ref string, id int64) {
		e.do(as("developer"), http.MethodPost, "/projects/shop/repositories/api/artifacts/"+ref+"/labels",
			map[string]any{"id": id}).ok(t, http.StatusOK, nil)
	}
	attach("v1", prod.ID)
	attach("v2", prod.ID)
	attach("v2", beta.ID)
	path := "/projects/shop/repositories/api/artifacts"
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	assert.Equal(t, []string{d1, d2}, walk(t, e, as("guest"), path+"?sort=push_time&"+q("label_id="+id(prod.ID)), "digest", 1))
	assert.Equal(t, []string{d2}, walk(t, e, as("guest"), path+"?"+q("label_id=("+id(prod.ID)+" "+id(beta.ID)+")"), "digest", 1))
	assert.Equal(t, []string{d2, d1}, walk(t, e, as("guest"), path+"?"+q("label_id={"+id(prod.ID)+" "+id(beta.ID)+"}"), "digest", 1))
	assert.Equal(t, []string{d2}, walk(t, e, as("guest"), "/projects/shop/artifacts?"+q("label_id="+id(beta.ID)), "digest", 1))
	e.do(as("guest"), http.MethodGet, path+"?"+q("label_id=~1"), nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
}
