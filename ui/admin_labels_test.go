package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type labelJSON struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Color       string `json:"color"`
	Scope       string `json:"scope"`
}

func TestLabelsPage(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)

	assert.Contains(t, text(p.page(t, "/admin/labels")), "No labels.")
	read := text(p.submit(t, "/admin/labels", url.Values{"name": {"prod"}, "description": {"in production"}, "color": {"#C92100"}}))
	assert.Contains(t, read, "Label created.")
	assert.Contains(t, read, "prod in production")
	p.submit(t, "/admin/labels", url.Values{"name": {"beta"}, "color": {"#48960C"}})
	var ls []labelJSON
	p.api(t, http.MethodGet, "/labels?scope=g", nil, &ls)
	require.Len(t, ls, 2)
	byName := map[string]labelJSON{}
	for _, l := range ls {
		byName[l.Name] = l
	}
	assert.Equal(t, "g", byName["prod"].Scope)
	assert.Equal(t, "#C92100", byName["prod"].Color)
	body := p.page(t, "/admin/labels")
	assert.Contains(t, body, `class="label-chip lc-c92100"`)

	// Sorted and filtered on the server.
	assert.Regexp(t, `beta .* prod `, text(p.page(t, "/admin/labels?sort=name")))
	assert.Regexp(t, `prod .* beta `, text(p.page(t, "/admin/labels?sort=-name")))
	read = text(p.page(t, "/admin/labels?q=pro"))
	assert.Contains(t, read, "1 - 1 of 1 items")
	assert.NotContains(t, read, "beta")

	// Edit.
	id := byName["prod"].ID
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("/admin/labels/%d", id), url.Values{"name": {"production"},
		"description": {"live"}, "color": {"#0065AB"}})), "Label updated.")
	var l labelJSON
	p.api(t, http.MethodGet, fmt.Sprintf("/labels/%d", id), nil, &l)
	assert.Equal(t, labelJSON{ID: id, Name: "production", Description: "live", Color: "#0065AB", Scope: "g"}, l)

	// A duplicate name is the API's to refuse.
	_, loc, _ := p.post(t, "/admin/labels", url.Values{"name": {"beta"}})
	assert.Contains(t, p.page(t, loc), `class="alert err"`)

	// Delete.
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("/admin/labels/%d/delete", id), nil)), "Label deleted.")
	p.api(t, http.MethodGet, "/labels?scope=g", nil, &ls)
	require.Len(t, ls, 1)
	assert.Equal(t, "beta", ls[0].Name)
	status, _, _ := p.post(t, "/admin/labels/x/delete", nil)
	assert.Equal(t, http.StatusNotFound, status)
}
