package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

// WithDefaultStorageLimit is the storage_limit, in bytes, of projects
// created without one (default -1, none).
func WithDefaultStorageLimit(n int64) Option { return func(c *config) { c.defaultQuota = n } }

// Quota is a project's storage limit and usage, Harbor's shape; its id is
// the project's.
type Quota struct {
	ID           int64          `json:"id"`
	Ref          QuotaRef       `json:"ref"`
	Hard         map[string]int `json:"hard" doc:"storage: the limit in bytes, -1 for none"`
	Used         map[string]int `json:"used" doc:"storage: bytes used, each blob and manifest once per project"`
	CreationTime time.Time      `json:"creation_time"`
	UpdateTime   time.Time      `json:"update_time"`
}

// QuotaRef names the project a quota belongs to.
type QuotaRef struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	OwnerName string `json:"owner_name"`
}

// QuotaUpdateReq changes a quota's limits.
type QuotaUpdateReq struct {
	Hard map[string]int64 `json:"hard" doc:"storage: the limit in bytes, -1 for none"`
}

func (a *API) quotaRoutes() []route {
	get, put := http.MethodGet, http.MethodPut
	return []route{
		{method: get, path: "/quotas", id: "listQuotas", tag: "quota", summary: "Projects' storage limits and usage (system admins)",
			query: append([]param{{"reference", "string", "project (the only kind of quota)", false},
				{"reference_id", "string", "a project's id", false}, sorting}, paging...),
			resp: []Quota{}, paged: true, handle: a.listQuotas},
		{method: get, path: "/quotas/{id}", id: "getQuota", tag: "quota", summary: "A project's storage limit and usage (its id is the project's)",
			resp: Quota{}, handle: a.getQuota},
		{method: put, path: "/quotas/{id}", id: "updateQuota", tag: "quota", summary: "Change a project's storage limit (system admins)",
			body: QuotaUpdateReq{}, handle: a.updateQuota},
	}
}

func (a *API) quotaJSON(c *call, p project.Project) (Quota, error) {
	used, err := a.deps.Registry.ProjectUsage(c.ctx(), p.Name)
	if err != nil {
		return Quota{}, err
	}
	return Quota{ID: p.ID, Ref: QuotaRef{ID: p.ID, Name: p.Name, OwnerName: p.Owner},
		Hard: map[string]int{"storage": int(p.Metadata.StorageQuota)}, Used: map[string]int{"storage": int(used)},
		CreationTime: p.CreatedAt, UpdateTime: p.UpdatedAt}, nil
}

func (a *API) listQuotas(c *call) error {
	if err := c.requireAdmin(permOn(rbac.ResourceQuota, rbac.ActionList)); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	if ref := q.Get("reference"); ref != "" && ref != "project" {
		return badRequest(fmt.Sprintf("reference %q: quotas are per project", ref))
	}
	var ps []project.Project
	total := 0
	if rid := q.Get("reference_id"); rid != "" {
		id, err := strconv.ParseInt(rid, 10, 64)
		if err != nil {
			return badRequest("reference_id " + strconv.Quote(rid) + ": want a project id")
		}
		p, err := a.deps.Projects.GetByID(c.ctx(), id)
		if err != nil {
			return err
		}
		ps, total = []project.Project{p}, 1
	} else if ps, total, err = listPage(c, pg, "", map[string]sortField[project.Project]{
		"creation_time": func(p *project.Project) string { return sTime(p.CreatedAt) },
		"update_time":   func(p *project.Project) string { return sTime(p.UpdatedAt) },
		"hard.storage":  func(p *project.Project) string { return sInt(p.Metadata.StorageQuota) },
	}, func(p core.Page) ([]project.Project, int, error) {
		return a.deps.Projects.List(c.ctx(), project.Filter{}, p)
	}); err != nil {
		return err
	}
	out := make([]Quota, 0, len(ps))
	for _, p := range ps {
		qj, err := a.quotaJSON(c, p)
		if err != nil {
			return err
		}
		out = append(out, qj)
	}
	return c.paged(pg, total, out)
}

// quotaProject is the project of /quotas/{id}, if the caller may read its
// quota.
func (a *API) quotaProject(c *call, perm rbac.Permission) (project.Project, error) {
	id, err := c.pathID("id")
	if err != nil {
		return project.Project{}, err
	}
	p, err := a.deps.Projects.GetByID(c.ctx(), id)
	if err != nil {
		return p, err
	}
	return p, c.require(p.Name, "", perm)
}

func (a *API) getQuota(c *call) error {
	p, err := a.quotaProject(c, permOn(rbac.ResourceQuota, rbac.ActionRead))
	if err != nil {
		return err
	}
	q, err := a.quotaJSON(c, p)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, q)
}

func (a *API) updateQuota(c *call) error {
	if err := c.requireAdmin(permOn(rbac.ResourceQuota, rbac.ActionUpdate)); err != nil {
		return err
	}
	p, err := a.quotaProject(c, permOn(rbac.ResourceQuota, rbac.ActionRead))
	if err != nil {
		return err
	}
	req, err := decodeAs[QuotaUpdateReq](c)
	if err != nil {
		return err
	}
	limit, ok := req.Hard["storage"]
	if !ok || len(req.Hard) != 1 {
		return badRequest(`hard: want {"storage": <bytes, -1 for none>}`)
	}
	if _, err := a.deps.Projects.Update(c.ctx(), p.Name, func(cur *project.Project) error {
		cur.Metadata.StorageQuota = quotaOf(limit)
		return nil
	}); err != nil {
		return err
	}
	return c.ok()
}
