package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/sqldb"
)

// labelEnv is the API with labels, kept in a database of their own.
func labelEnv(t *testing.T) (*env, *label.Store) {
	t.Helper()
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	store, err := label.New(t.Context(), db)
	require.NoError(t, err)
	e := newEnv(t, api.WithLabels(store))
	e.user("outsider", "guest", "developer", "maintainer")
	e.project("shop", false, "guest=guest", "developer=developer", "maintainer=maintainer")
	e.project("tools", false, "maintainer=guest")
	return e, store
}

func (e *env) labelProjectID(name string) int64 {
	e.t.Helper()
	p, err := e.projects.Get(e.t.Context(), name)
	require.NoError(e.t, err)
	return p.ID
}

// labelCreatedID returns the id at the end of a 201's Location.
func labelCreatedID(t *testing.T, r *response) int64 {
	t.Helper()
	r.ok(t, http.StatusCreated, nil)
	loc := r.Header.Get("Location")
	var id int64
	_, err := fmt.Sscanf(loc[strings.LastIndex(loc, "/")+1:], "%d", &id)
	require.NoError(t, err, loc)
	return id
}

func TestLabelsCreate(t *testing.T) {
	e, _ := labelEnv(t)
	shop := e.labelProjectID("shop")
	tests := []struct {
		name   string
		who    cred
		body   map[string]any
		status int
		code   string
	}{
		{"admin, global", admin(), map[string]any{"name": "prod", "scope": "g", "color": "#1D5100"}, 201, ""},
		{"global with a project id: it is dropped", admin(), map[string]any{"name": "qa", "scope": "g", "project_id": shop}, 201, ""},
		{"maintainer, global", as("maintainer"), map[string]any{"name": "g2", "scope": "g"}, 403, "FORBIDDEN"},
		{"anonymous", anonymous, map[string]any{"name": "g3", "scope": "g"}, 401, "UNAUTHORIZED"},
		{"maintainer, own project", as("maintainer"), map[string]any{"name": "prod", "scope": "p", "project_id": shop}, 201, ""},
		{"developer, own project", as("developer"), map[string]any{"name": "dev", "scope": "p", "project_id": shop}, 403, "FORBIDDEN"},
		{"maintainer, another project", as("maintainer"), map[string]any{"name": "x", "scope": "p", "project_id": e.labelProjectID("tools")}, 403, "FORBIDDEN"},
		{"name taken in the project", admin(), map[string]any{"name": "prod", "scope": "p", "project_id": shop}, 409, "CONFLICT"},
		{"name taken globally", admin(), map[string]any{"name": "prod", "scope": "g"}, 409, "CONFLICT"},
		{"bad color", admin(), map[string]any{"name": "c", "scope": "g", "color": "blue"}, 400, "BAD_REQUEST"},
		{"no name", admin(), map[string]any{"scope": "g"}, 400, "BAD_REQUEST"},
		{"no scope", admin(), map[string]any{"name": "n"}, 400, "BAD_REQUEST"},
		{"project scope without project", admin(), map[string]any{"name": "n", "scope": "p"}, 400, "BAD_REQUEST"},
		{"unknown project", admin(), map[string]any{"name": "n", "scope": "p", "project_id": 999}, 404, "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, http.MethodPost, "/labels", tt.body)
			if tt.code != "" {
				r.fails(t, tt.status, tt.code)
				return
			}
			id := labelCreatedID(t, r)
			var got api.Label
			e.do(admin(), http.MethodGet, fmt.Sprint("/labels/", id), nil).ok(t, http.StatusOK, &got)
			assert.Equal(t, id, got.ID)
			assert.Equal(t, tt.body["name"], got.Name)
			assert.Equal(t, tt.body["scope"], got.Scope)
			assert.False(t, got.Deleted)
			assert.False(t, got.CreationTime.IsZero())
			if got.Scope == "g" {
				assert.Zero(t, got.ProjectID)
			} else {
				assert.Equal(t, shop, got.ProjectID)
			}
		})
	}
}

func TestLabelsListAndRead(t *testing.T) {
	e, store := labelEnv(t)
	ctx := t.Context()
	shop, tools := e.labelProjectID("shop"), e.labelProjectID("tools")
	for _, n := range []string{"prod", "staging", "Production-EU"} {
		_, err := store.Create(ctx, label.Label{Name: n, Scope: label.ScopeGlobal})
		require.NoError(t, err)
	}
	shopLabel, err := store.Create(ctx, label.Label{Name: "team-a", Scope: label.ScopeProject, ProjectID: shop})
	require.NoError(t, err)
	_, err = store.Create(ctx, label.Label{Name: "team-b", Scope: label.ScopeProject, ProjectID: tools})
	require.NoError(t, err)

	tests := []struct {
		name  string
		who   cred
		query string
		want  []string
		total string
		fails int
	}{
		{"global by default, any signed-in user", as("outsider"), "", []string{"prod", "staging", "Production-EU"}, "3", 0},
		{"global, anonymous", anonymous, "?scope=g", nil, "", 401},
		{"name contains, any case", as("outsider"), "?scope=g&name=prod", []string{"prod", "Production-EU"}, "2", 0},
		{"q exact name", as("outsider"), "?q=name%3Dprod", []string{"prod"}, "1", 0},
		{"q fuzzy name", as("outsider"), "?q=name%3D~stag", []string{"staging"}, "1", 0},
		{"paged", as("outsider"), "?page=2&page_size=2", []string{"Production-EU"}, "3", 0},
		{"a project's, its guest", as("guest"), fmt.Sprintf("?scope=p&project_id=%d", shop), []string{"team-a"}, "1", 0},
		{"a project's through q", as("guest"), fmt.Sprintf("?q=scope%%3Dp,project_id%%3D%d", shop), []string{"team-a"}, "1", 0},
		{"project_id alone means scope p", as("guest"), fmt.Sprintf("?project_id=%d", shop), []string{"team-a"}, "1", 0},
		{"a project's, an outsider", as("outsider"), fmt.Sprintf("?scope=p&project_id=%d", shop), nil, "", 403},
		{"scope p without project", as("guest"), "?scope=p", nil, "", 400},
		{"bad scope", as("guest"), "?scope=x", nil, "", 400},
		{"unknown project", admin(), "?scope=p&project_id=999", nil, "", 404},
		{"unknown q key", as("guest"), "?q=color%3Dred", nil, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, http.MethodGet, "/labels"+tt.query, nil)
			if tt.fails != 0 {
				require.Equal(t, tt.fails, r.Status, "body: %s", r.Body)
				return
			}
			assert.Equal(t, tt.want, names(t, r, "name"))
			assert.Equal(t, tt.total, r.Header.Get("X-Total-Count"))
		})
	}

	path := fmt.Sprint("/labels/", shopLabel.ID)
	var got api.Label
	e.do(as("guest"), http.MethodGet, path, nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, "team-a", got.Name)
	e.do(as("outsider"), http.MethodGet, path, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("outsider"), http.MethodGet, "/labels/1", nil).ok(t, http.StatusOK, nil) // a global one
	e.do(anonymous, http.MethodGet, "/labels/1", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(admin(), http.MethodGet, "/labels/999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(admin(), http.MethodGet, "/labels/x", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
}

func TestLabelsUpdateAndDelete(t *testing.T) {
	e, store := labelEnv(t)
	ctx := t.Context()
	shop := e.labelProjectID("shop")
	global, err := store.Create(ctx, label.Label{Name: "prod", Scope: label.ScopeGlobal, Description: "d", Color: "#000000"})
	require.NoError(t, err)
	mine, err := store.Create(ctx, label.Label{Name: "a", Scope: label.ScopeProject, ProjectID: shop})
	require.NoError(t, err)
	_, err = store.Create(ctx, label.Label{Name: "b", Scope: label.ScopeProject, ProjectID: shop})
	require.NoError(t, err)
	gPath, pPath := fmt.Sprint("/labels/", global.ID), fmt.Sprint("/labels/", mine.ID)

	e.do(as("maintainer"), http.MethodPut, gPath, map[string]any{"name": "x"}).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(admin(), http.MethodPut, gPath, map[string]any{"color": "#FFFFFF"}).ok(t, http.StatusOK, nil)
	got, err := store.Get(ctx, global.ID)
	require.NoError(t, err)
	assert.Equal(t, label.Label{ID: global.ID, Name: "prod", Color: "#FFFFFF", Scope: "g", CreatedAt: global.CreatedAt,
		UpdatedAt: got.UpdatedAt}, got, "an empty name keeps it; description and color are replaced")

	e.do(as("developer"), http.MethodPut, pPath, map[string]any{"name": "a2"}).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("maintainer"), http.MethodPut, pPath, map[string]any{"name": "b"}).fails(t, http.StatusConflict, "CONFLICT")
	e.do(as("maintainer"), http.MethodPut, pPath, map[string]any{"name": "a2", "scope": "g", "project_id": 0}).
		ok(t, http.StatusOK, nil)
	got, err = store.Get(ctx, mine.ID)
	require.NoError(t, err)
	assert.Equal(t, "a2", got.Name)
	assert.Equal(t, label.ScopeProject, got.Scope, "the scope stays")
	assert.Equal(t, shop, got.ProjectID)

	e.do(as("developer"), http.MethodDelete, pPath, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("maintainer"), http.MethodDelete, pPath, nil).ok(t, http.StatusOK, nil)
	e.do(as("maintainer"), http.MethodDelete, pPath, nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("maintainer"), http.MethodDelete, gPath, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(admin(), http.MethodDelete, gPath, nil).ok(t, http.StatusOK, nil)
}

func TestArtifactLabels(t *testing.T) {
	e, store := labelEnv(t)
	ctx := t.Context()
	shop, tools := e.labelProjectID("shop"), e.labelProjectID("tools")
	d := digest.Digest(e.push("shop/api", "v1"))
	global, err := store.Create(ctx, label.Label{Name: "prod", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	own, err := store.Create(ctx, label.Label{Name: "team-a", Scope: label.ScopeProject, ProjectID: shop})
	require.NoError(t, err)
	other, err := store.Create(ctx, label.Label{Name: "team-b", Scope: label.ScopeProject, ProjectID: tools})
	require.NoError(t, err)
	path := "/projects/shop/repositories/api/artifacts/v1/labels"

	tests := []struct {
		name   string
		who    cred
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"a guest may not", as("guest"), http.MethodPost, path, map[string]any{"id": global.ID}, 403, "FORBIDDEN"},
		{"an outsider may not", as("outsider"), http.MethodPost, path, map[string]any{"id": global.ID}, 403, "FORBIDDEN"},
		{"a developer adds a global label", as("developer"), http.MethodPost, path, map[string]any{"id": global.ID}, 200, ""},
		{"by digest too: already on it", as("developer"), http.MethodPost,
			"/projects/shop/repositories/api/artifacts/" + d.String() + "/labels", map[string]any{"id": global.ID}, 409, "CONFLICT"},
		{"the project's own label", as("developer"), http.MethodPost, path, map[string]any{"id": own.ID}, 200, ""},
		{"another project's label", as("developer"), http.MethodPost, path, map[string]any{"id": other.ID}, 400, "BAD_REQUEST"},
		{"no id", as("developer"), http.MethodPost, path, map[string]any{"name": "prod"}, 400, "BAD_REQUEST"},
		{"unknown label", as("developer"), http.MethodPost, path, map[string]any{"id": 999}, 404, "NOT_FOUND"},
		{"unknown artifact", as("developer"), http.MethodPost, "/projects/shop/repositories/api/artifacts/nope/labels",
			map[string]any{"id": global.ID}, 404, "NOT_FOUND"},
		{"a guest may not remove", as("guest"), http.MethodDelete, fmt.Sprint(path, "/", global.ID), nil, 403, "FORBIDDEN"},
		{"a developer removes", as("developer"), http.MethodDelete, fmt.Sprint(path, "/", global.ID), nil, 200, ""},
		{"not on it", as("developer"), http.MethodDelete, fmt.Sprint(path, "/", global.ID), nil, 404, "NOT_FOUND"},
		{"bad label id", as("developer"), http.MethodDelete, path + "/x", nil, 404, "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, tt.method, tt.path, tt.body)
			if tt.code != "" {
				r.fails(t, tt.status, tt.code)
				return
			}
			r.ok(t, tt.status, nil)
		})
	}
	ls, err := store.LabelsOf(ctx, shop, "shop/api", d)
	require.NoError(t, err)
	require.Len(t, ls, 1)
	assert.Equal(t, "team-a", ls[0].Name)

	// Deleting the label takes it off the artifact.
	e.do(as("maintainer"), http.MethodDelete, fmt.Sprint("/labels/", own.ID), nil).ok(t, http.StatusOK, nil)
	ls, err = store.LabelsOf(ctx, shop, "shop/api", d)
	require.NoError(t, err)
	assert.Empty(t, ls)
	arts, _, err := store.ArtifactsWithLabel(ctx, own.ID, 0, core.Page{})
	require.NoError(t, err)
	assert.Empty(t, arts)
}

func TestLabelsAndPurgeNotServedWithoutTheirOptions(t *testing.T) {
	e := newEnv(t)
	for _, p := range e.api.Patterns() {
		assert.NotContains(t, p, "/labels")
		assert.NotContains(t, p, "/purgeaudit")
	}
}
