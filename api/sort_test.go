package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/label"
)

// TestListAllAndSort: page_size=0 (Harbor's "all") is served as far as the
// store serves one page, with a Link to the rest, never silently cut; sort
// orders the whole listing, not the page.
func TestListAllAndSort(t *testing.T) {
	e, store := labelEnv(t)
	const n = label.MaxPageSize + 5
	for i := range n {
		_, err := store.Create(t.Context(), label.Label{Name: fmt.Sprintf("l%04d", i), Scope: label.ScopeGlobal})
		require.NoError(t, err)
	}

	r := e.do(admin(), http.MethodGet, "/labels?scope=g&page=0&page_size=0", nil)
	got := names(t, r, "name")
	require.Len(t, got, label.MaxPageSize)
	assert.Equal(t, fmt.Sprint(n), r.Header.Get("X-Total-Count"))
	assert.Equal(t, fmt.Sprintf(`</api/v2.0/labels?page=2&page_size=%d&scope=g>; rel="next"`, label.MaxPageSize), r.Header.Get("Link"))
	rest := names(t, e.do(admin(), http.MethodGet, fmt.Sprintf("/labels?scope=g&page=2&page_size=%d", label.MaxPageSize), nil), "name")
	assert.Equal(t, []string{"l1000", "l1001", "l1002", "l1003", "l1004"}, rest)

	r = e.do(admin(), http.MethodGet, "/labels?scope=g&sort=-name&page_size=3", nil)
	assert.Equal(t, []string{"l1004", "l1003", "l1002"}, names(t, r, "name"))
	assert.Equal(t, fmt.Sprint(n), r.Header.Get("X-Total-Count"))
	r = e.do(admin(), http.MethodGet, "/labels?scope=g&sort=-name&page=2&page_size=3", nil)
	assert.Equal(t, []string{"l1001", "l1000", "l0999"}, names(t, r, "name"))

	e.do(admin(), http.MethodGet, "/labels?scope=g&sort=color", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
}

// TestListBigPagesNeverSkip: an explicit page larger than the store serves
// at once is renumbered in the Link, or refused when it cannot be.
func TestListBigPagesNeverSkip(t *testing.T) {
	e, store := labelEnv(t)
	for i := range 3*label.MaxPageSize + 10 {
		_, err := store.Create(t.Context(), label.Label{Name: fmt.Sprintf("l%04d", i), Scope: label.ScopeGlobal})
		require.NoError(t, err)
	}
	r := e.do(admin(), http.MethodGet, fmt.Sprintf("/labels?scope=g&page=2&page_size=%d", 3*label.MaxPageSize), nil)
	require.Len(t, names(t, r, "name"), 10)
	r = e.do(admin(), http.MethodGet, fmt.Sprintf("/labels?scope=g&page=2&page_size=%d", 2*label.MaxPageSize), nil)
	require.Len(t, names(t, r, "name"), label.MaxPageSize) // items 2000..2999 of 3010
	assert.Contains(t, r.Header.Get("Link"), fmt.Sprintf("page=4&page_size=%d", label.MaxPageSize))
	r = e.do(admin(), http.MethodGet, "/labels?scope=g&page=1&page_size=5000", nil)
	require.Len(t, names(t, r, "name"), label.MaxPageSize)
	assert.Contains(t, r.Header.Get("Link"), fmt.Sprintf("page=2&page_size=%d", label.MaxPageSize))
	e.do(admin(), http.MethodGet, "/labels?scope=g&page=2&page_size=1500", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
}
