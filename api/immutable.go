package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/tagselect"
)

// Immutable is a project's tag immutability rules as the API needs them;
// *immutable.Store implements it.
type Immutable interface {
	Create(ctx context.Context, r immutable.ProjectRule) (immutable.ProjectRule, error)
	Get(ctx context.Context, projectID, id int64) (immutable.ProjectRule, error)
	List(ctx context.Context, projectID int64, page core.Page) ([]immutable.ProjectRule, int, error)
	Update(ctx context.Context, r immutable.ProjectRule) (immutable.ProjectRule, error)
	Delete(ctx context.Context, projectID, id int64) error
}

// WithImmutable serves a project's tag immutability rules under
// /projects/{p}/immutabletagrules (maintainers and project admins).
func WithImmutable(i Immutable) Option { return func(c *config) { c.immutable = i } }

// ImmutableSelector selects repositories or tags, Harbor's shape.
type ImmutableSelector struct {
	Kind       string `json:"kind" doc:"doublestar"`
	Decoration string `json:"decoration" doc:"repoMatches or repoExcludes (scope_selectors.repository); matches or excludes (tag_selectors)"`
	Pattern    string `json:"pattern" doc:"a doublestar pattern: ** for everything, {a,b} for either"`
	Extras     string `json:"extras,omitempty" doc:"ignored"`
}

// ImmutableRule is a tag immutability rule of a project, Harbor's shape.
type ImmutableRule struct {
	ID             int64                          `json:"id"`
	ProjectID      int64                          `json:"project_id" doc:"the project's id (the path names the project)"`
	Priority       int                            `json:"priority"`
	Disabled       bool                           `json:"disabled"`
	Action         string                         `json:"action" doc:"immutable"`
	Template       string                         `json:"template" doc:"immutable_template"`
	Params         map[string]any                 `json:"params,omitempty" doc:"ignored"`
	TagSelectors   []ImmutableSelector            `json:"tag_selectors" doc:"one or more; all must pick a tag"`
	ScopeSelectors map[string][]ImmutableSelector `json:"scope_selectors" doc:"repository: one or more; all must pick the repository (its name without the project)"`
}

// Harbor's fixed action and template of an immutability rule.
const (
	immutableAction   = "immutable"
	immutableTemplate = "immutable_template"
)

const pImmutableRules = pProject + "/immutabletagrules"

func (a *API) immutableRoutes() []route {
	if a.cfg.immutable == nil {
		return nil
	}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	one := pImmutableRules + "/{immutable_rule_id}"
	return []route{
		{method: get, path: pImmutableRules, id: "ListImmuRules", tag: "immutable",
			summary: "The project's tag immutability rules (maintainers and up)", query: append([]param{sorting}, paging...), resp: []ImmutableRule{},
			paged: true, handle: a.listImmutableRules},
		{method: post, path: pImmutableRules, id: "CreateImmuRule", tag: "immutable",
			summary: "Add a tag immutability rule (at most 15 a project; the same selectors twice is a conflict)",
			body:    ImmutableRule{}, status: http.StatusCreated, handle: a.createImmutableRule},
		{method: put, path: one, id: "UpdateImmuRule", tag: "immutable",
			summary: "Change a rule; a body without selectors only enables or disables it", body: ImmutableRule{},
			handle: a.updateImmutableRule},
		{method: del, path: one, id: "DeleteImmuRule", tag: "immutable", summary: "Remove a tag immutability rule",
			handle: a.deleteImmutableRule},
	}
}

func immutableSelectorsJSON(ss []tagselect.Selector) []ImmutableSelector {
	out := make([]ImmutableSelector, 0, len(ss))
	for _, s := range ss {
		kind := s.Kind
		if kind == "" {
			kind = tagselect.Kind
		}
		out = append(out, ImmutableSelector{Kind: kind, Decoration: s.Decoration, Pattern: s.Pattern})
	}
	return out
}

func immutableRuleJSON(r immutable.ProjectRule) ImmutableRule {
	return ImmutableRule{ID: r.ID, ProjectID: r.ProjectID, Priority: r.Priority, Disabled: r.Disabled,
		Action: immutableAction, Template: immutableTemplate, TagSelectors: immutableSelectorsJSON(r.TagSelectors),
		ScopeSelectors: map[string][]ImmutableSelector{"repository": immutableSelectorsJSON(r.ScopeSelectors)}}
}

func immutableSelectors(ss []ImmutableSelector) []tagselect.Selector {
	out := make([]tagselect.Selector, 0, len(ss))
	for _, s := range ss {
		out = append(out, tagselect.Selector{Kind: s.Kind, Decoration: s.Decoration, Pattern: s.Pattern})
	}
	return out
}

// toRule reads a request into a rule of project projectID.
func (req ImmutableRule) toRule(projectID int64) (immutable.ProjectRule, error) {
	if req.Action != "" && req.Action != immutableAction {
		return immutable.ProjectRule{}, badRequest(fmt.Sprintf("action %q: want %q", req.Action, immutableAction))
	}
	if req.Template != "" && req.Template != immutableTemplate {
		return immutable.ProjectRule{}, badRequest(fmt.Sprintf("template %q: want %q", req.Template, immutableTemplate))
	}
	for k := range req.ScopeSelectors {
		if k != "repository" {
			return immutable.ProjectRule{}, badRequest(fmt.Sprintf("scope_selectors.%s: only repository selectors are supported", k))
		}
	}
	return immutable.ProjectRule{ProjectID: projectID, Priority: req.Priority, Rule: immutable.Rule{Disabled: req.Disabled,
		TagSelectors: immutableSelectors(req.TagSelectors), ScopeSelectors: immutableSelectors(req.ScopeSelectors["repository"])}}, nil
}

func (a *API) immutableProject(c *call, act rbac.Action) (int64, error) {
	p, err := c.projectFor(permOn(rbac.ResourceImmutableTag, act))
	return p.ID, err
}

func (a *API) listImmutableRules(c *call) error {
	pid, err := a.immutableProject(c, rbac.ActionList)
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	rules, total, err := listPage(c, pg, "id", map[string]sortField[immutable.ProjectRule]{
		"id": func(r *immutable.ProjectRule) string { return sInt(r.ID) },
	}, func(p core.Page) ([]immutable.ProjectRule, int, error) { return a.cfg.immutable.List(c.ctx(), pid, p) })
	if err != nil {
		return err
	}
	out := make([]ImmutableRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, immutableRuleJSON(r))
	}
	return c.paged(pg, total, out)
}

func (a *API) createImmutableRule(c *call) error {
	pid, err := a.immutableProject(c, rbac.ActionCreate)
	if err != nil {
		return err
	}
	req, err := decodeAs[ImmutableRule](c)
	if err != nil {
		return err
	}
	r, err := req.toRule(pid)
	if err != nil {
		return err
	}
	created, err := a.cfg.immutable.Create(c.ctx(), r)
	if err != nil {
		return err
	}
	return c.created(fmt.Sprintf("%s/projects/%d/immutabletagrules/%d", BasePath, pid, created.ID), nil)
}

func (a *API) immutableRule(c *call, act rbac.Action) (immutable.ProjectRule, error) {
	pid, err := a.immutableProject(c, act)
	if err != nil {
		return immutable.ProjectRule{}, err
	}
	id, err := c.pathID("immutable_rule_id")
	if err != nil {
		return immutable.ProjectRule{}, err
	}
	return a.cfg.immutable.Get(c.ctx(), pid, id)
}

func (a *API) updateImmutableRule(c *call) error {
	cur, err := a.immutableRule(c, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	req, err := decodeAs[ImmutableRule](c)
	if err != nil {
		return err
	}
	next := cur
	if len(req.TagSelectors) == 0 && len(req.ScopeSelectors) == 0 {
		next.Disabled = req.Disabled // enable or disable
	} else if next, err = req.toRule(cur.ProjectID); err != nil {
		return err
	}
	next.ID = cur.ID
	if _, err := a.cfg.immutable.Update(c.ctx(), next); err != nil {
		return err
	}
	return c.ok()
}

func (a *API) deleteImmutableRule(c *call) error {
	r, err := a.immutableRule(c, rbac.ActionDelete)
	if err != nil {
		return err
	}
	if err := a.cfg.immutable.Delete(c.ctx(), r.ProjectID, r.ID); err != nil {
		return err
	}
	return c.ok()
}
