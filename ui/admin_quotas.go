package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// quota is a project's storage limit and usage, as /quotas lists it.
type quota struct {
	ID  int64 `json:"id"`
	Ref struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		OwnerName string `json:"owner_name"`
	} `json:"ref"`
	Hard map[string]int64 `json:"hard"`
	Used map[string]int64 `json:"used"`
}

// Limit and UsedBytes are the storage limit (-1: none) and usage.
func (q quota) Limit() int64     { return q.Hard["storage"] }
func (q quota) UsedBytes() int64 { return q.Used["storage"] }

// Unlimited tells whether the project has no storage limit.
func (q quota) Unlimited() bool { return q.Limit() < 0 }

// Over tells whether usage has reached nine tenths of the limit.
func (q quota) Over() bool { return !q.Unlimited() && q.Limit() > 0 && q.UsedBytes()*10 >= q.Limit()*9 }

// LimitIn is the limit in the largest unit that divides it exactly, for
// the edit form: the number and the unit.
func (q quota) LimitIn() (string, string) {
	n := q.Limit()
	if n < 0 {
		return "-1", "GiB"
	}
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}} {
		if n%u.size == 0 && n > 0 {
			return itoa(n / u.size), u.name
		}
	}
	return itoa((n + 1<<20 - 1) >> 20), "MiB"
}

// LimitNumber and LimitUnit split LimitIn for the template.
func (q quota) LimitNumber() string { n, _ := q.LimitIn(); return n }
func (q quota) LimitUnit() string   { _, u := q.LimitIn(); return u }

type quotasView struct {
	List   *listQuery
	Quotas []quota
	Units  []string
}

// Return is this page of the list, where a saved limit comes back to.
func (v quotasView) Return() string { return v.List.link(v.List.Page, v.List.Sort) }

func (u *UI) quotasPage(w http.ResponseWriter, r *http.Request, s *session) {
	l := parseList(r, "-hard.storage", "hard.storage", "creation_time")
	v := quotasView{List: l, Units: []string{"MiB", "GiB", "TiB"}}
	p := l.apiParams()
	if l.Search != "" {
		// The API filters quotas by project id: find the project named.
		var pr project
		if _, err := s.api.get("/projects/"+esc(l.Search), &pr); err != nil {
			if statusOf(err) != http.StatusNotFound {
				u.failed(w, r, s, err)
				return
			}
			l.Total = 0
			u.render(w, r, 0, "admin_quotas", adminView(s, "quotas", "quota.title", v))
			return
		}
		p.Set("reference_id", itoa(pr.ProjectID))
	}
	a, err := s.api.get("/quotas?"+p.Encode(), &v.Quotas)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	u.render(w, r, 0, "admin_quotas", adminView(s, "quotas", "quota.title", v))
}

// updateQuota sets a project's storage limit: a whole number of the
// unit chosen, or -1 for none.
func (u *UI) updateQuota(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := u.pathID(w, r, s, "id")
	if !ok {
		return
	}
	back := "/admin/quotas"
	if ret := r.PostForm.Get("return"); strings.HasPrefix(ret, u.base+back+"?") {
		if _, err := url.ParseQuery(strings.SplitN(ret, "?", 2)[1]); err == nil {
			back = strings.TrimPrefix(ret, u.base)
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(r.PostForm.Get("limit")), 10, 64)
	unit := map[string]int64{"MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[r.PostForm.Get("unit")]
	if err != nil || n < -1 || unit == 0 || n > (1<<62)/unit {
		u.redirect(w, r, back, "", errorText(u.cat.text(language(r), "quota.badlimit")))
		return
	}
	limit := int64(-1)
	if n >= 0 {
		limit = n * unit
	}
	if _, err := s.api.send(http.MethodPut, "/quotas/"+id, map[string]any{"hard": map[string]int64{"storage": limit}}, nil); err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	u.redirect(w, r, back, "quota.saved", nil)
}
