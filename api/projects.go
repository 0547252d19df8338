package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/replicate"
)

// permOn builds a permission.
func permOn(res rbac.Resource, act rbac.Action) rbac.Permission {
	return rbac.Permission{Resource: res, Action: act}
}

// project resolves the request's {project_name} or {project_name_or_id}:
// digits are an ID unless X-Is-Resource-Name is true, as in Harbor.
func (c *call) project() (project.Project, error) {
	store := c.a.deps.Projects
	if name := c.r.PathValue("project_name"); name != "" {
		return store.Get(c.ctx(), name)
	}
	v := c.r.PathValue("project_name_or_id")
	if !strings.EqualFold(c.r.Header.Get("X-Is-Resource-Name"), "true") && strings.Trim(v, "0123456789") == "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return project.Project{}, notFound("project id " + v + " does not exist")
		}
		return store.GetByID(c.ctx(), id)
	}
	return store.Get(c.ctx(), v)
}

// readableProject resolves the request's project and checks that the
// caller may see it: anyone may see a public project.
func (c *call) readableProject() (project.Project, error) {
	p, err := c.project()
	if err != nil {
		return p, err
	}
	if p.Public {
		return p, nil
	}
	return p, c.require(p.Name, "", permOn(rbac.ResourceProject, rbac.ActionRead))
}

func (a *API) getProject(c *call) error {
	p, err := c.readableProject()
	if err != nil {
		return err
	}
	out, err := a.projectsJSON(c, []project.Project{p})
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, out[0])
}

func (a *API) headProject(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	name := c.r.URL.Query().Get("project_name")
	if name == "" {
		return badRequest("project_name is required")
	}
	ok, err := a.deps.Projects.Exists(c.ctx(), name)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("project " + strconv.Quote(name) + " does not exist")
	}
	return c.ok()
}

func (a *API) createProject(c *call) error {
	if err := c.requireUser(); err != nil {
		return err
	}
	admin, err := c.isAdmin()
	if err != nil {
		return err
	}
	creation, err := a.creationRestriction(c.ctx())
	if err != nil {
		return err
	}
	if creation == CreationAdminOnly && !admin {
		return forbidden("only system administrators may create projects on this server")
	}
	var req ProjectReq
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	p := project.Project{Name: req.ProjectName, Owner: c.p.Name}
	if err := checkQuotaChange(admin, req.StorageLimit, a.cfg.defaultQuota); err != nil {
		return err
	}
	p.Metadata.StorageQuota = a.cfg.defaultQuota
	if err := req.apply(&p); err != nil {
		return err
	}
	if err := a.checkProxyRegistry(c, admin, p.Metadata.RegistryID); err != nil {
		return err
	}
	want, err := a.trustRequest(c.ctx(), nil, req.Metadata)
	if err != nil {
		return err
	}
	a.trustInMetadata(&p.Metadata, want)
	p, err = a.deps.Projects.Create(c.ctx(), p,
		project.Member{Subject: project.UserPrefix + c.p.Name, Role: project.RoleProjectAdmin})
	if err != nil {
		return err
	}
	if err := a.storeTrust(c.ctx(), p, want); err != nil {
		return err
	}
	loc := strconv.FormatInt(p.ID, 10)
	if strings.EqualFold(c.r.Header.Get("X-Resource-Name-In-Location"), "true") {
		loc = url.PathEscape(p.Name)
	}
	return c.created(BasePath+"/projects/"+loc, nil)
}

func (a *API) updateProject(c *call) error {
	p, err := c.project()
	if err != nil {
		return err
	}
	if err := c.require(p.Name, "", permOn(rbac.ResourceProject, rbac.ActionUpdate)); err != nil {
		return err
	}
	var req ProjectReq
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	if req.ProjectName != "" && req.ProjectName != p.Name {
		return badRequest("a project cannot be renamed")
	}
	return a.changeProject(c, p, req)
}

// changeProject applies req to p, as updateProject and the metadata
// operations do: quota, visibility, settings, then content trust.
func (a *API) changeProject(c *call, p project.Project, req ProjectReq) error {
	admin, err := c.isAdmin()
	if err != nil {
		return err
	}
	want, err := a.trustRequest(c.ctx(), &p, req.Metadata)
	if err != nil {
		return err
	}
	// The check runs on the stored project, in the update's transaction, so
	// a refusal leaves every field as it was.
	p, err = a.deps.Projects.Update(c.ctx(), p.Name, func(cur *project.Project) error {
		if err := checkQuotaChange(admin, req.StorageLimit, cur.Metadata.StorageQuota); err != nil {
			return err
		}
		if err := req.apply(cur); err != nil {
			return err
		}
		a.trustInMetadata(&cur.Metadata, want)
		return nil
	})
	if err != nil {
		return err
	}
	if err := a.storeTrust(c.ctx(), p, want); err != nil {
		return err
	}
	return c.ok()
}

// deleteProject deletes an empty project, then its project robots, so that
// a project created later under the same name does not inherit them.
func (a *API) deleteProject(c *call) error {
	p, err := c.project()
	if err != nil {
		return err
	}
	if err := c.require(p.Name, "", permOn(rbac.ResourceProject, rbac.ActionDelete)); err != nil {
		return err
	}
	// The project store's cascades (added while the server is assembled)
	// remove its robots, settings and the like in the same transaction.
	if err := a.deps.Projects.Delete(c.ctx(), p.Name); err != nil {
		return err
	}
	return c.ok()
}

// projectsJSON renders projects with their repository counts and the
// caller's roles in them.
func (a *API) projectsJSON(c *call, ps []project.Project) ([]Project, error) {
	roles := map[string][]int{}
	if subjects := c.subjects(); len(subjects) > 0 {
		grants, err := a.deps.Projects.MembershipsOf(c.ctx(), subjects)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			if id := roleID(g.Role); id != 0 && !slices.Contains(roles[g.Project], id) {
				roles[g.Project] = append(roles[g.Project], id)
			}
		}
	}
	out := make([]Project, 0, len(ps))
	for _, p := range ps {
		n, err := a.deps.Registry.CountRepositories(c.ctx(), p.Name)
		if err != nil {
			return nil, err
		}
		j := projectJSON(p, n, roles[p.Name])
		if j.ChartCount, err = a.chartCount(c.ctx(), p.Name); err != nil {
			return nil, err
		}
		if j.Metadata.RetentionID, err = a.retentionID(c.ctx(), p.ID); err != nil {
			return nil, err
		}
		pol, _, err := a.projectTrust(c.ctx(), p)
		if err != nil {
			return nil, err
		}
		showTrust(&j.Metadata, pol)
		out = append(out, j)
	}
	return out, nil
}

// retentionID is the id of the project's retention policy, as Harbor's
// metadata spells it, or nil when it has none.
func (a *API) retentionID(ctx context.Context, projectID int64) (*string, error) {
	if a.cfg.retention == nil {
		return nil, nil
	}
	p, err := a.cfg.retention.Get(ctx, projectID)
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	id := strconv.FormatInt(p.ID, 10)
	return &id, nil
}

// checkProxyRegistry allows a proxy cache project (registry_id) only to
// system administrators, and only of a registry that exists.
func (a *API) checkProxyRegistry(c *call, admin bool, id int64) error {
	switch {
	case id == 0:
		return nil
	case !admin:
		return forbidden("only system administrators may create proxy cache projects")
	case a.cfg.repl.r == nil:
		return badRequest("proxy cache projects need registries, which come with replication: it is off on this server")
	}
	if _, err := a.cfg.repl.r.Endpoint(c.ctx(), id); errors.Is(err, replicate.ErrNotFound) {
		return badRequest(fmt.Sprintf("registry_id %d: no such registry", id))
	} else if err != nil {
		return err
	}
	return nil
}
