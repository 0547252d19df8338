package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPagination(t *testing.T) {
	e := newEnv(t)
	for i := range 25 {
		e.project(fmt.Sprintf("p%02d", i), true)
	}
	tests := []struct {
		query string
		first string
		count int
		link  string
	}{
		{"", "p00", 10, `</api/v2.0/projects?page=2&page_size=10>; rel="next"`},
		{"?page=2", "p10", 10, `</api/v2.0/projects?page=1&page_size=10>; rel="prev" , </api/v2.0/projects?page=3&page_size=10>; rel="next"`},
		{"?page=3&public=true", "p20", 5, `</api/v2.0/projects?page=2&page_size=10&public=true>; rel="prev"`},
		{"?page_size=100", "p00", 25, ""},
		{"?page=9&page_size=5", "", 0, `</api/v2.0/projects?page=5&page_size=5>; rel="prev"`},
		// Harbor's SDK and CLI: page 0 is the first, page_size 0 is all.
		{"?page=0&page_size=0", "p00", 25, ""},
		{"?page=0&page_size=3", "p00", 3, `</api/v2.0/projects?page=2&page_size=3>; rel="next"`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := e.do(anonymous, http.MethodGet, "/projects"+tt.query, nil)
			got := names(t, r, "name")
			assert.Len(t, got, tt.count)
			if tt.count > 0 {
				assert.Equal(t, tt.first, got[0])
			}
			assert.Equal(t, "25", r.Header.Get("X-Total-Count"))
			assert.Equal(t, tt.link, r.Header.Get("Link"))
		})
	}
	for _, bad := range []string{"page=-1", "page=x", "page_size=-1", "page_size=10001", "page_size=1e3"} {
		t.Run(bad, func(t *testing.T) {
			e.do(anonymous, http.MethodGet, "/projects?"+bad, nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
		})
	}
}
