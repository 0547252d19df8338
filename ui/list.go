package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pageSizes are the page sizes a list offers.
var pageSizes = [...]int{15, 25, 50, 100}

// listQuery is a list page's paging, sort and filter, from its URL: page,
// page_size, sort (a field, "-" first for descending) and q (the search
// box). Every list is paged, sorted and filtered by the API, never in the
// page.
type listQuery struct {
	Page     int
	PageSize int
	Sort     string
	Search   string
	Total    int // set from the answer's X-Total-Count
	path     string
	extra    url.Values // the page's other query parameters, kept on links
}

// parseList reads a list's query from r; sortable lists the sort fields
// the page offers (the first is the default).
func parseList(r *http.Request, sortable ...string) *listQuery {
	q := r.URL.Query()
	l := &listQuery{Page: 1, PageSize: pageSizes[0], path: r.URL.Path, extra: url.Values{}}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 && n < 1_000_000 {
		l.Page = n
	}
	if n, err := strconv.Atoi(q.Get("page_size")); err == nil && contains(intStrings(pageSizes[:]), strconv.Itoa(n)) {
		l.PageSize = n
	}
	if s := q.Get("sort"); s != "" && contains(sortable, strings.TrimPrefix(s, "-")) {
		l.Sort = s
	} else if len(sortable) > 0 {
		l.Sort = sortable[0]
	}
	l.Search = strings.TrimSpace(q.Get("q"))
	if len(l.Search) > 200 {
		l.Search = l.Search[:200]
	}
	for k, v := range q {
		switch k {
		case "page", "page_size", "sort", "q":
		default:
			l.extra[k] = v
		}
	}
	return l
}

// apiParams is the list's query for the API: page, page_size and sort;
// the caller adds its filter (q) in the API's syntax.
func (l *listQuery) apiParams() url.Values {
	v := url.Values{"page": {strconv.Itoa(l.Page)}, "page_size": {strconv.Itoa(l.PageSize)}}
	if l.Sort != "" {
		v.Set("sort", l.Sort)
	}
	return v
}

// link is this list's URL with the page and sort changed.
func (l *listQuery) link(page int, sort string) string {
	v := url.Values{}
	for k, vs := range l.extra {
		v[k] = vs
	}
	v.Set("page", strconv.Itoa(page))
	v.Set("page_size", strconv.Itoa(l.PageSize))
	if sort != "" {
		v.Set("sort", sort)
	}
	if l.Search != "" {
		v.Set("q", l.Search)
	}
	return l.path + "?" + v.Encode()
}

// Pages is the number of pages.
func (l *listQuery) Pages() int {
	if l.Total <= 0 {
		return 1
	}
	return (l.Total + l.PageSize - 1) / l.PageSize
}

// From and To are the 1-based range of rows shown.
func (l *listQuery) From() int {
	if l.Total == 0 {
		return 0
	}
	return (l.Page-1)*l.PageSize + 1
}
func (l *listQuery) To() int { return min(l.Page*l.PageSize, max(l.Total, 0)) }

// Prev and Next link the neighbouring pages ("" at the ends).
func (l *listQuery) Prev() string {
	if l.Page <= 1 {
		return ""
	}
	return l.link(l.Page-1, l.Sort)
}
func (l *listQuery) Next() string {
	if l.Page >= l.Pages() {
		return ""
	}
	return l.link(l.Page+1, l.Sort)
}

// SortLink sorts by field: ascending, or descending when it already is.
func (l *listQuery) SortLink(field string) string {
	if l.Sort == field {
		return l.link(1, "-"+field)
	}
	return l.link(1, field)
}

// SortState is "ascending", "descending" or "none" for aria-sort.
func (l *listQuery) SortState(field string) string {
	switch l.Sort {
	case field:
		return "ascending"
	case "-" + field:
		return "descending"
	}
	return "none"
}

// Sizes are the page sizes offered.
func (l *listQuery) Sizes() []int { return pageSizes[:] }

// Hidden are the query parameters to keep in the search form.
func (l *listQuery) Hidden() url.Values { return l.extra }

func intStrings(ns []int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
