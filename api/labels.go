package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// Labels is labels and their attachments as the API needs them;
// *label.Store implements it.
type Labels interface {
	Create(ctx context.Context, l label.Label) (label.Label, error)
	Get(ctx context.Context, id int64) (label.Label, error)
	List(ctx context.Context, f label.Filter, page core.Page) ([]label.Label, int, error)
	Update(ctx context.Context, id int64, fn func(l *label.Label) error) (label.Label, error)
	Delete(ctx context.Context, id int64) error
	Attach(ctx context.Context, a label.Artifact, labelID int64) error
	Detach(ctx context.Context, a label.Artifact, labelID int64) error
	LabelsOf(ctx context.Context, projectID int64, repo string, d digest.Digest) ([]label.Label, error)
}

// WithLabels serves labels under /labels (global ones: system admins
// change them, every signed-in caller sees them; a project's: its
// maintainers and up change them, its guests and up see them) and their
// attachment to artifacts under .../artifacts/{reference}/labels
// (developers and up).
func WithLabels(l Labels) Option { return func(c *config) { c.labels = l } }

// Label is a label, Harbor's shape.
type Label struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	Color        string    `json:"color" doc:"#RRGGBB, or empty"`
	Scope        string    `json:"scope" doc:"g: global (system admins create it; attachable anywhere); p: a project's (its maintainers and up create it; attachable within it)"`
	ProjectID    int64     `json:"project_id" doc:"the project of a p label; 0 for g"`
	CreationTime time.Time `json:"creation_time"`
	UpdateTime   time.Time `json:"update_time"`
	Deleted      bool      `json:"deleted" doc:"always false: a deleted label is gone, its id never reused"`
}

func labelJSON(l label.Label) Label {
	return Label{ID: l.ID, Name: l.Name, Description: l.Description, Color: l.Color, Scope: l.Scope,
		ProjectID: l.ProjectID, CreationTime: l.CreatedAt, UpdateTime: l.UpdatedAt}
}

const (
	pLabel   = "/labels/{label_id}"
	pArtLbls = pArt + "/labels"
)

func (a *API) labelRoutes() []route {
	if a.cfg.labels == nil {
		return nil
	}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	query := append([]param{
		{"q", "string", "Filter: comma-separated key=value terms, keys name (=exact, =~contains), scope, project_id", false},
		{"name", "string", "Keep labels whose name contains this", false},
		{"scope", "string", "g (global, the default) or p (a project's: give project_id)", false},
		{"project_id", "integer", "The project of p labels", false}, sorting}, paging...)
	return []route{
		{method: get, path: "/labels", id: "ListLabels", tag: "label",
			summary: "Global labels (any signed-in caller), or a project's (scope=p&project_id=…: its guests and up)",
			query:   query, resp: []Label{}, paged: true, handle: a.listLabels},
		{method: post, path: "/labels", id: "CreateLabel", tag: "label",
			summary: "Create a label: scope g (system admins) or p with project_id (the project's maintainers and up)",
			body:    Label{}, status: http.StatusCreated, handle: a.createLabel},
		{method: get, path: pLabel, id: "GetLabelByID", tag: "label", summary: "One label", resp: Label{},
			handle: a.getLabel},
		{method: put, path: pLabel, id: "UpdateLabel", tag: "label",
			summary: "Change a label's name, description and color (scope and project stay); an empty name keeps it",
			body:    Label{}, handle: a.updateLabel},
		{method: del, path: pLabel, id: "DeleteLabel", tag: "label",
			summary: "Delete a label, taking it off every artifact", handle: a.deleteLabel},
		{method: post, path: pArtLbls, id: "addLabel", tag: "artifact",
			summary: "Put a label on an artifact (body: its id); a project's label only within its project (409 when already on it)",
			body:    Label{}, handle: a.addArtifactLabel},
		{method: del, path: pArtLbls + "/{label_id}", id: "removeLabel", tag: "artifact",
			summary: "Take a label off an artifact", handle: a.removeArtifactLabel},
	}
}

// labelProject returns the project of a p label.
func (a *API) labelProject(c *call, id int64) (project.Project, error) {
	p, err := a.deps.Projects.GetByID(c.ctx(), id)
	if errors.Is(err, core.ErrNotFound) {
		return p, notFound(fmt.Sprintf("project id %d does not exist", id))
	}
	return p, err
}

// labelAccess checks the caller may act on a label of l's scope and
// project: reading a global label takes a signed-in caller, changing one
// a system admin; a project's label takes act on labels in the project.
func (a *API) labelAccess(c *call, l label.Label, act rbac.Action) error {
	perm := permOn(rbac.ResourceLabel, act)
	if l.Scope == label.ScopeGlobal {
		if act == rbac.ActionRead || act == rbac.ActionList {
			if c.p.Kind == rbac.Anonymous {
				return unauthorized("authentication required")
			}
			return nil
		}
		return c.requireAdmin(perm)
	}
	p, err := a.labelProject(c, l.ProjectID)
	if err != nil {
		return err
	}
	return c.require(p.Name, "", perm)
}

func (a *API) listLabels(c *call) error {
	q := c.r.URL.Query()
	terms, err := parseQ(q.Get("q"), "name", "scope", "project_id")
	if err != nil {
		return err
	}
	var f label.Filter
	f.NameContains = q.Get("name")
	if t, ok := terms["name"]; ok {
		if t.fuzzy {
			f.NameContains = t.value
		} else {
			f.Name, f.NameContains = t.value, ""
		}
	}
	scope, pid := q.Get("scope"), q.Get("project_id")
	if t, ok := terms["scope"]; ok {
		scope = t.value
	}
	if t, ok := terms["project_id"]; ok {
		pid = t.value
	}
	if scope == "" && pid != "" {
		scope = label.ScopeProject
	}
	switch scope {
	case "", label.ScopeGlobal:
		f.Scope = label.ScopeGlobal
	case label.ScopeProject:
		id, err := strconv.ParseInt(pid, 10, 64)
		if err != nil || id <= 0 {
			return badRequest(fmt.Sprintf("project_id %q: scope p needs a project id", pid))
		}
		f.Scope, f.ProjectID = label.ScopeProject, id
	default:
		return badRequest(fmt.Sprintf("scope %q: want g (global) or p (a project's)", scope))
	}
	if err := a.labelAccess(c, label.Label{Scope: f.Scope, ProjectID: f.ProjectID}, rbac.ActionList); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	ls, total, err := listPage(c, pg, "", labelSort(), func(p core.Page) ([]label.Label, int, error) {
		return a.cfg.labels.List(c.ctx(), f, p)
	})
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(ls, func(l *label.Label) Label { return labelJSON(*l) }))
}

func (a *API) createLabel(c *call) error {
	req, err := decodeAs[Label](c)
	if err != nil {
		return err
	}
	l := label.Label{Name: req.Name, Description: req.Description, Color: req.Color, Scope: req.Scope,
		ProjectID: req.ProjectID}
	switch l.Scope {
	case label.ScopeGlobal:
		l.ProjectID = 0
	case label.ScopeProject:
		if l.ProjectID <= 0 {
			return badRequest("a label of scope p needs the project_id of its project")
		}
	default:
		return badRequest(fmt.Sprintf(`scope %q: want "g" (global) or "p" (a project's, with project_id)`, l.Scope))
	}
	if err := a.labelAccess(c, l, rbac.ActionCreate); err != nil {
		return err
	}
	created, err := a.cfg.labels.Create(c.ctx(), l)
	if err != nil {
		return err
	}
	return c.created(fmt.Sprintf("%s/labels/%d", BasePath, created.ID), nil)
}

// labelFor finds the request's {label_id} and checks the caller may act on
// it.
func (a *API) labelFor(c *call, act rbac.Action) (label.Label, error) {
	id, err := c.pathID("label_id")
	if err != nil {
		return label.Label{}, err
	}
	l, err := a.cfg.labels.Get(c.ctx(), id)
	if err != nil {
		return l, err
	}
	return l, a.labelAccess(c, l, act)
}

func (a *API) getLabel(c *call) error {
	l, err := a.labelFor(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, labelJSON(l))
}

func (a *API) updateLabel(c *call) error {
	cur, err := a.labelFor(c, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	req, err := decodeAs[Label](c)
	if err != nil {
		return err
	}
	_, err = a.cfg.labels.Update(c.ctx(), cur.ID, func(l *label.Label) error {
		if req.Name != "" {
			l.Name = req.Name
		}
		l.Description, l.Color = req.Description, req.Color
		return nil
	})
	if err != nil {
		return err
	}
	return c.ok()
}

func (a *API) deleteLabel(c *call) error {
	l, err := a.labelFor(c, rbac.ActionDelete)
	if err != nil {
		return err
	}
	return a.okOr(c, a.cfg.labels.Delete(c.ctx(), l.ID))
}

func (a *API) addArtifactLabel(c *call) error {
	p, art, err := a.artifact(c, permOn(rbac.ResourceArtifactLabel, rbac.ActionCreate))
	if err != nil {
		return err
	}
	req, err := decodeAs[Label](c)
	if err != nil {
		return err
	}
	if req.ID <= 0 {
		return badRequest(`the label's id is required: {"id": 1}`)
	}
	err = a.cfg.labels.Attach(c.ctx(), label.Artifact{ProjectID: p.ID, Repository: art.Repository, Digest: art.Digest}, req.ID)
	return a.okOr(c, err)
}

func (a *API) removeArtifactLabel(c *call) error {
	p, art, err := a.artifact(c, permOn(rbac.ResourceArtifactLabel, rbac.ActionDelete))
	if err != nil {
		return err
	}
	id, err := c.pathID("label_id")
	if err != nil {
		return err
	}
	err = a.cfg.labels.Detach(c.ctx(), label.Artifact{ProjectID: p.ID, Repository: art.Repository, Digest: art.Digest}, id)
	return a.okOr(c, err)
}

// artifactLabels returns the labels on art of project p, as an artifact's
// labels field shows them: an empty list when it has none, nil when
// labels are not served.
func (a *API) artifactLabels(ctx context.Context, p project.Project, art registry.Artifact) ([]Label, error) {
	if a.cfg.labels == nil {
		return nil, nil
	}
	ls, err := a.cfg.labels.LabelsOf(ctx, p.ID, art.Repository, art.Digest)
	if err != nil {
		return nil, err
	}
	return convertAll(ls, func(l *label.Label) Label { return labelJSON(*l) }), nil
}

// labelSort are the fields labels sort by (sort=name, sort=-creation_time).
func labelSort() map[string]sortField[label.Label] {
	return map[string]sortField[label.Label]{
		"id":            func(l *label.Label) string { return sInt(l.ID) },
		"name":          func(l *label.Label) string { return l.Name },
		"creation_time": func(l *label.Label) string { return sTime(l.CreatedAt) },
		"update_time":   func(l *label.Label) string { return sTime(l.UpdatedAt) },
	}
}
