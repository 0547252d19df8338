package api_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/sqldb"
)

func immutableSel(decoration, pattern string) []api.ImmutableSelector {
	return []api.ImmutableSelector{{Kind: "doublestar", Decoration: decoration, Pattern: pattern}}
}

func TestImmutableRulesAPI(t *testing.T) {
	db, err := sqldb.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "immutable.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	store, err := immutable.NewStore(t.Context(), db)
	require.NoError(t, err)
	e := newEnv(t, api.WithImmutable(store))
	e.user("dev", "maint")
	e.project("team", false, "dev=developer", "maint=maintainer")
	team, err := e.projects.Get(t.Context(), "team")
	require.NoError(t, err)
	base := "/projects/team/immutabletagrules"

	rule := api.ImmutableRule{Action: "immutable", Template: "immutable_template", TagSelectors: immutableSel("matches", "v*"),
		ScopeSelectors: map[string][]api.ImmutableSelector{"repository": immutableSel("repoMatches", "**")}}
	e.do(anonymous, http.MethodPost, base, rule).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(as("dev"), http.MethodPost, base, rule).fails(t, http.StatusForbidden, "FORBIDDEN")
	r := e.do(as("maint"), http.MethodPost, base, rule)
	r.ok(t, http.StatusCreated, nil)
	loc := r.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, fmt.Sprintf("%s/projects/%d/immutabletagrules/", api.BasePath, team.ID)), loc)
	one := strings.TrimPrefix(loc, api.BasePath)
	e.do(as("maint"), http.MethodPost, base, rule).fails(t, http.StatusConflict, "CONFLICT")

	var list []api.ImmutableRule
	r = e.do(as("maint"), http.MethodGet, base, nil)
	r.ok(t, http.StatusOK, &list)
	assert.Equal(t, "1", r.Header.Get("X-Total-Count"))
	require.Len(t, list, 1)
	got := list[0]
	assert.Equal(t, team.ID, got.ProjectID)
	assert.Equal(t, "immutable", got.Action)
	assert.Equal(t, "immutable_template", got.Template)
	assert.Equal(t, immutableSel("matches", "v*"), got.TagSelectors)
	assert.Equal(t, immutableSel("repoMatches", "**"), got.ScopeSelectors["repository"])
	assert.False(t, got.Disabled)
	e.do(as("dev"), http.MethodGet, base, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	r = e.do(as("maint"), http.MethodGet, fmt.Sprintf("/projects/%d/immutabletagrules", team.ID), nil)
	r.ok(t, http.StatusOK, &list)
	require.Len(t, list, 1, "the project by id")

	bad := rule
	bad.TagSelectors = nil
	e.do(as("maint"), http.MethodPost, base, bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	bad = rule
	bad.Action = "retain"
	e.do(as("maint"), http.MethodPost, base, bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	bad = rule
	bad.ScopeSelectors = map[string][]api.ImmutableSelector{"label": immutableSel("repoMatches", "**")}
	e.do(as("maint"), http.MethodPost, base, bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	bad = rule
	bad.TagSelectors = immutableSel("matches", "[v")
	e.do(as("maint"), http.MethodPost, base, bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	// Disabling sends the flag alone; the selectors stay.
	e.do(as("maint"), http.MethodPut, one, map[string]any{"disabled": true}).ok(t, http.StatusOK, nil)
	e.do(as("maint"), http.MethodGet, base, nil).ok(t, http.StatusOK, &list)
	assert.True(t, list[0].Disabled)
	assert.Equal(t, immutableSel("matches", "v*"), list[0].TagSelectors)
	up := rule
	up.TagSelectors = immutableSel("excludes", "dev-*")
	e.do(as("maint"), http.MethodPut, one, up).ok(t, http.StatusOK, nil)
	e.do(as("maint"), http.MethodGet, base, nil).ok(t, http.StatusOK, &list)
	assert.False(t, list[0].Disabled)
	assert.Equal(t, immutableSel("excludes", "dev-*"), list[0].TagSelectors)
	e.do(as("maint"), http.MethodPut, base+"/999", up).fails(t, http.StatusNotFound, "NOT_FOUND")

	e.do(as("dev"), http.MethodDelete, one, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("maint"), http.MethodDelete, one, nil).ok(t, http.StatusOK, nil)
	e.do(as("maint"), http.MethodDelete, one, nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("maint"), http.MethodGet, base, nil).ok(t, http.StatusOK, &list)
	assert.Empty(t, list)
}
