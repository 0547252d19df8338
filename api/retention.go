package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/retention"
	"github.com/berthlabs/berth/tagselect"
)

// Retention is tag retention as the API needs it; *retention.Service
// implements it. A policy's id is its project's id.
type Retention interface {
	Create(ctx context.Context, p retention.ProjectPolicy) (retention.ProjectPolicy, error)
	Get(ctx context.Context, id int64) (retention.ProjectPolicy, error)
	Update(ctx context.Context, p retention.ProjectPolicy) (retention.ProjectPolicy, error)
	Delete(ctx context.Context, id int64) error
	Run(ctx context.Context, policyID int64, dryRun bool, trigger string) (retention.Execution, error)
	Executions(ctx context.Context, policyID int64, page core.Page) ([]retention.Execution, int, error)
	Execution(ctx context.Context, policyID, executionID int64) (retention.Execution, error)
	Stop(ctx context.Context, policyID, executionID int64) error
	Tasks(ctx context.Context, policyID, executionID int64, page core.Page) ([]retention.Task, int, error)
	TaskLog(ctx context.Context, policyID, executionID, taskID int64) (string, error)
}

// WithRetention serves tag retention under /retentions: a project's
// policy (its id is the project's id), its executions, their tasks and
// logs (developers and up).
func WithRetention(r Retention) Option { return func(c *config) { c.retention = r } }

// RetentionSelector selects repositories or tags, Harbor's shape.
type RetentionSelector struct {
	Kind       string `json:"kind" doc:"doublestar; in tag_selectors also label"`
	Decoration string `json:"decoration" doc:"repoMatches or repoExcludes (scope_selectors.repository); matches or excludes (tag_selectors of kind doublestar); withLabels or withoutLabels (kind label)"`
	Pattern    string `json:"pattern" doc:"a doublestar pattern: ** for everything, {a,b} for either; for kind label, label names separated by commas (withLabels: carrying all of them, withoutLabels: none)"`
	Extras     string `json:"extras" doc:"tag selectors: JSON {\"untagged\":true} counts untagged artifacts in"`
}

// RetentionRule is one rule of a retention policy, Harbor's shape.
type RetentionRule struct {
	ID             int                            `json:"id" doc:"the rule's position, from 1"`
	Priority       int                            `json:"priority"`
	Disabled       bool                           `json:"disabled"`
	Action         string                         `json:"action" doc:"retain"`
	Template       string                         `json:"template" doc:"latestPushedK, latestPulledN, latestActiveK, nDaysSinceLastPush, nDaysSinceLastPull, lastXDays or always"`
	Params         map[string]any                 `json:"params" doc:"the template's parameter, named like it: {\"latestPushedK\": 10}"`
	TagSelectors   []RetentionSelector            `json:"tag_selectors"`
	ScopeSelectors map[string][]RetentionSelector `json:"scope_selectors" doc:"repository: the repositories (names without the project) the rule applies to"`
}

// RetentionRuleTrigger is when a policy runs, Harbor's shape.
type RetentionRuleTrigger struct {
	Kind       string         `json:"kind" doc:"Schedule"`
	Settings   map[string]any `json:"settings" doc:"cron: a cron expression in UTC with an optional seconds field first (\"0 0 0 * * *\"); empty for none"`
	References map[string]any `json:"references,omitempty"`
}

// RetentionPolicyScope is what a policy applies to, Harbor's shape.
type RetentionPolicyScope struct {
	Level string `json:"level" doc:"project"`
	Ref   int64  `json:"ref" doc:"the project's id"`
}

// RetentionPolicy is a project's tag retention policy, Harbor's shape.
type RetentionPolicy struct {
	ID        int64                 `json:"id" doc:"berth: the project's id (one policy a project)"`
	Algorithm string                `json:"algorithm" doc:"or"`
	Rules     []RetentionRule       `json:"rules" doc:"at most 15; an artifact any enabled rule retains is kept, the others are deleted"`
	Trigger   *RetentionRuleTrigger `json:"trigger"`
	Scope     *RetentionPolicyScope `json:"scope"`
}

// RetentionExecution is one run of a policy, Harbor's shape.
type RetentionExecution struct {
	ID        int64      `json:"id"`
	PolicyID  int64      `json:"policy_id"`
	StartTime time.Time  `json:"start_time"`
	EndTime   *time.Time `json:"end_time,omitempty"`
	Status    string     `json:"status" doc:"Pending, Running, Success, Error or Stopped"`
	Trigger   string     `json:"trigger" doc:"MANUAL or SCHEDULE"`
	DryRun    bool       `json:"dry_run"`
}

// RetentionExecutionTask is what an execution did in one repository,
// Harbor's shape.
type RetentionExecutionTask struct {
	ID             int64      `json:"id"`
	ExecutionID    int64      `json:"execution_id"`
	Repository     string     `json:"repository"`
	JobID          string     `json:"job_id"`
	Status         string     `json:"status"`
	StatusCode     int        `json:"status_code" doc:"0 pending, 2 running, 3 finished"`
	StatusRevision int64      `json:"status_revision"`
	StartTime      *time.Time `json:"start_time,omitempty"`
	EndTime        *time.Time `json:"end_time,omitempty"`
	Total          int        `json:"total" doc:"artifacts judged (an image index with its platforms counts once)"`
	Retained       int        `json:"retained" doc:"of them, those kept (for a dry run: that would be)"`
}

// RetentionExecutionReq starts an execution.
type RetentionExecutionReq struct {
	DryRun bool `json:"dry_run" doc:"decide and log, delete nothing"`
}

// RetentionExecutionAction operates on an execution.
type RetentionExecutionAction struct {
	Action string `json:"action" doc:"stop"`
}

// RetentionMetadata describes what a policy may say, Harbor's shape.
type RetentionMetadata struct {
	Templates      []RetentionRuleMetadata     `json:"templates"`
	ScopeSelectors []RetentionSelectorMetadata `json:"scope_selectors"`
	TagSelectors   []RetentionSelectorMetadata `json:"tag_selectors"`
}

// RetentionRuleMetadata describes a rule template.
type RetentionRuleMetadata struct {
	RuleTemplate string                       `json:"rule_template"`
	DisplayText  string                       `json:"display_text"`
	Action       string                       `json:"action"`
	Params       []RetentionRuleParamMetadata `json:"params"`
}

// RetentionRuleParamMetadata describes a template's parameter.
type RetentionRuleParamMetadata struct {
	Type     string `json:"type"`
	Unit     string `json:"unit" doc:"COUNT or DAYS"`
	Required bool   `json:"required"`
}

// RetentionSelectorMetadata describes a kind of selector.
type RetentionSelectorMetadata struct {
	DisplayText string   `json:"display_text"`
	Kind        string   `json:"kind"`
	Decorations []string `json:"decorations"`
}

const (
	pRetention  = "/retentions/{id}"
	pRetentionX = pRetention + "/executions/{execution_id}"
)

func (a *API) retentionRoutes() []route {
	if a.cfg.retention == nil {
		return nil
	}
	get, post, put, del, patch := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch
	return []route{
		{method: get, path: "/retentions/metadatas", id: "getRentenitionMetadata", tag: "retention",
			summary: "The rule templates and selectors a retention policy may use", resp: RetentionMetadata{},
			handle: a.retentionMetadata},
		{method: post, path: "/retentions", id: "createRetention", tag: "retention",
			summary: "Create the retention policy of the project scope.ref names; its id is the project's id (one a project)",
			body:    RetentionPolicy{}, status: http.StatusCreated, handle: a.createRetention},
		{method: get, path: pRetention, id: "getRetention", tag: "retention",
			summary: "A retention policy; berth: its id is its project's id", resp: RetentionPolicy{}, handle: a.getRetention},
		{method: put, path: pRetention, id: "updateRetention", tag: "retention", summary: "Replace a retention policy's rules and schedule",
			body: RetentionPolicy{}, handle: a.updateRetention},
		{method: del, path: pRetention, id: "deleteRetention", tag: "retention",
			summary: "Delete a retention policy with its executions; one in progress stops", handle: a.deleteRetention},
		{method: post, path: pRetention + "/executions", id: "triggerRetentionExecution", tag: "retention",
			summary: "Run the policy now; a dry run deletes nothing (one execution of a policy at a time)",
			body:    RetentionExecutionReq{}, status: http.StatusCreated, handle: a.runRetention},
		{method: get, path: pRetention + "/executions", id: "listRetentionExecutions", tag: "retention",
			summary: "The policy's executions, newest first", query: paging, resp: []RetentionExecution{}, paged: true,
			handle: a.listRetentionExecutions},
		{method: get, path: pRetentionX, id: "getRetentionExecution", tag: "retention",
			summary: "berth: one execution of the policy (Harbor only lists them)", resp: RetentionExecution{},
			handle: a.getRetentionExecution},
		{method: patch, path: pRetentionX, id: "operateRetentionExecution", tag: "retention",
			summary: "Stop an execution in progress (action: stop)", body: RetentionExecutionAction{}, handle: a.stopRetention},
		{method: get, path: pRetentionX + "/tasks", id: "listRetentionTasks", tag: "retention",
			summary: "The execution's tasks, one a repository", query: paging, resp: []RetentionExecutionTask{}, paged: true,
			handle: a.listRetentionTasks},
		{method: get, path: pRetentionX + "/tasks/{task_id}", id: "getRetentionTaskLog", tag: "retention",
			summary: "A task's log: each artifact of the repository, what became of it and why", text: true,
			handle: a.retentionTaskLog},
	}
}

func (a *API) retentionMetadata(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	texts := map[string]string{
		retention.LatestPushedK:      "the most recently pushed # artifacts",
		retention.LatestPulledN:      "the most recently pulled # artifacts",
		retention.LatestActiveK:      "the most recently pushed or pulled # artifacts",
		retention.NDaysSinceLastPush: "the artifacts pushed within the last # days",
		retention.NDaysSinceLastPull: "the artifacts pulled within the last # days",
		retention.LastXDays:          "the artifacts pushed within the last # days (strictly)",
		retention.Always:             "always",
	}
	out := RetentionMetadata{
		ScopeSelectors: []RetentionSelectorMetadata{{DisplayText: "Repositories", Kind: tagselect.Kind,
			Decorations: []string{tagselect.RepoMatches, tagselect.RepoExcludes}}},
		TagSelectors: []RetentionSelectorMetadata{{DisplayText: "Tags", Kind: tagselect.Kind,
			Decorations: []string{tagselect.Matches, tagselect.Excludes}},
			{DisplayText: "Labels", Kind: retention.LabelKind,
				Decorations: []string{retention.WithLabels, retention.WithoutLabels}}},
	}
	for _, t := range retention.Templates() {
		m := RetentionRuleMetadata{RuleTemplate: t.ID, DisplayText: texts[t.ID], Action: "retain",
			Params: []RetentionRuleParamMetadata{}}
		if t.Param != "" {
			unit := "COUNT"
			if t.Unit == "days" {
				unit = "DAYS"
			}
			m.Params = append(m.Params, RetentionRuleParamMetadata{Type: "int", Unit: unit, Required: true})
		}
		out.Templates = append(out.Templates, m)
	}
	return c.json(http.StatusOK, out)
}

func retentionSelectorsJSON(ss []tagselect.Selector, tags bool) []RetentionSelector {
	out := make([]RetentionSelector, 0, len(ss))
	for _, s := range ss {
		kind := s.Kind
		if kind == "" {
			kind = tagselect.Kind
		}
		sel := RetentionSelector{Kind: kind, Decoration: s.Decoration, Pattern: s.Pattern}
		if tags {
			sel.Extras = fmt.Sprintf(`{"untagged":%t}`, s.Untagged)
		}
		out = append(out, sel)
	}
	return out
}

func retentionPolicyJSON(p retention.ProjectPolicy) RetentionPolicy {
	out := RetentionPolicy{ID: p.ID, Algorithm: p.Algorithm, Rules: []RetentionRule{},
		Trigger: &RetentionRuleTrigger{Kind: "Schedule", Settings: map[string]any{"cron": p.Schedule}},
		Scope:   &RetentionPolicyScope{Level: "project", Ref: p.ProjectID}}
	if !p.NextRun.IsZero() {
		out.Trigger.References = map[string]any{"next_scheduled_time": p.NextRun}
	}
	for i, r := range p.Rules {
		params := map[string]any{}
		for k, v := range r.Params {
			params[k] = v
		}
		tags := retentionSelectorsJSON(r.TagSelectors, true)
		for _, l := range r.LabelSelectors {
			tags = append(tags, RetentionSelector{Kind: retention.LabelKind, Decoration: l.Decoration,
				Pattern: strings.Join(l.Labels, ",")})
		}
		out.Rules = append(out.Rules, RetentionRule{ID: i + 1, Disabled: r.Disabled, Action: "retain", Template: r.Template,
			Params: params, TagSelectors: tags,
			ScopeSelectors: map[string][]RetentionSelector{"repository": retentionSelectorsJSON(r.ScopeSelectors, false)}})
	}
	return out
}

// retentionSelectors reads request selectors; tags reads their extras.
func retentionSelectors(ss []RetentionSelector, tags bool, where string) ([]tagselect.Selector, error) {
	out := make([]tagselect.Selector, 0, len(ss))
	for i, s := range ss {
		sel := tagselect.Selector{Kind: s.Kind, Decoration: s.Decoration, Pattern: s.Pattern}
		if tags && s.Extras != "" {
			var x struct {
				Untagged bool `json:"untagged"`
			}
			if err := json.Unmarshal([]byte(s.Extras), &x); err != nil {
				return nil, badRequest(fmt.Sprintf("%s[%d].extras %q: want JSON such as {\"untagged\":true}", where, i, s.Extras))
			}
			sel.Untagged = x.Untagged
		}
		out = append(out, sel)
	}
	return out, nil
}

// intParam reads a rule parameter: a JSON number, or a string of digits.
func intParam(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		if n != math.Trunc(n) || n < math.MinInt32 || n > math.MaxInt32 {
			return 0, false
		}
		return int(n), true
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

// toPolicy reads a request into a policy.
func (req RetentionPolicy) toPolicy() (retention.ProjectPolicy, error) {
	var p retention.ProjectPolicy
	if req.Scope == nil || req.Scope.Level != "project" || req.Scope.Ref <= 0 {
		return p, badRequest(`scope is required: {"level":"project","ref":<project id>}`)
	}
	p.ProjectID, p.Algorithm = req.Scope.Ref, req.Algorithm
	if req.Trigger != nil {
		if req.Trigger.Kind != "" && req.Trigger.Kind != "Schedule" {
			return p, badRequest(fmt.Sprintf("trigger.kind %q: want Schedule", req.Trigger.Kind))
		}
		if v, ok := req.Trigger.Settings["cron"]; ok && v != nil {
			cron, ok := v.(string)
			if !ok {
				return p, badRequest("trigger.settings.cron: want a string")
			}
			p.Schedule = cron
		}
	}
	for i, r := range req.Rules {
		where := fmt.Sprintf("rules[%d]", i)
		if r.Action != "" && r.Action != "retain" {
			return p, badRequest(fmt.Sprintf("%s.action %q: want retain", where, r.Action))
		}
		for k := range r.ScopeSelectors {
			if k != "repository" {
				return p, badRequest(fmt.Sprintf("%s.scope_selectors.%s: only repository selectors are supported", where, k))
			}
		}
		rule := retention.Rule{Disabled: r.Disabled, Template: r.Template, Params: map[string]int{}}
		for k, v := range r.Params {
			n, ok := intParam(v)
			if !ok {
				return p, badRequest(fmt.Sprintf("%s.params.%s: want a whole number", where, k))
			}
			rule.Params[k] = n
		}
		var err error
		var tags []RetentionSelector
		for _, sel := range r.TagSelectors {
			if sel.Kind != retention.LabelKind {
				tags = append(tags, sel)
				continue
			}
			ls := retention.LabelSelector{Decoration: sel.Decoration}
			for _, name := range strings.Split(sel.Pattern, ",") {
				if name = strings.TrimSpace(name); name != "" {
					ls.Labels = append(ls.Labels, name)
				}
			}
			rule.LabelSelectors = append(rule.LabelSelectors, ls)
		}
		if rule.TagSelectors, err = retentionSelectors(tags, true, where+".tag_selectors"); err != nil {
			return p, err
		}
		if rule.ScopeSelectors, err = retentionSelectors(r.ScopeSelectors["repository"], false, where+".scope_selectors.repository"); err != nil {
			return p, err
		}
		p.Rules = append(p.Rules, rule)
	}
	return p, nil
}

// retentionProject checks the caller may act on the tag retention of
// project id (a policy's id is its project's).
func (a *API) retentionProject(c *call, id int64, act rbac.Action) (project.Project, error) {
	p, err := a.deps.Projects.GetByID(c.ctx(), id)
	if errors.Is(err, project.ErrNotFound) {
		return p, notFound(fmt.Sprintf("retention policy %d: no such project", id))
	}
	if err != nil {
		return p, err
	}
	return p, c.require(p.Name, "", permOn(rbac.ResourceTagRetention, act))
}

// retentionPolicy reads the request's {id} and returns the policy after
// checking the caller may act on it.
func (a *API) retentionPolicy(c *call, act rbac.Action) (retention.ProjectPolicy, error) {
	id, err := c.pathID("id")
	if err != nil {
		return retention.ProjectPolicy{}, err
	}
	if _, err := a.retentionProject(c, id, act); err != nil {
		return retention.ProjectPolicy{}, err
	}
	return a.cfg.retention.Get(c.ctx(), id)
}

func (a *API) createRetention(c *call) error {
	req, err := decodeAs[RetentionPolicy](c)
	if err != nil {
		return err
	}
	p, err := req.toPolicy()
	if err != nil {
		return err
	}
	if _, err := a.retentionProject(c, p.ProjectID, rbac.ActionCreate); err != nil {
		return err
	}
	p.Creator = c.p.Name
	created, err := a.cfg.retention.Create(c.ctx(), p)
	if err != nil {
		return err
	}
	return c.created(fmt.Sprintf("%s/retentions/%d", BasePath, created.ID), nil)
}

func (a *API) getRetention(c *call) error {
	p, err := a.retentionPolicy(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, retentionPolicyJSON(p))
}

func (a *API) updateRetention(c *call) error {
	cur, err := a.retentionPolicy(c, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	req, err := decodeAs[RetentionPolicy](c)
	if err != nil {
		return err
	}
	if req.Scope == nil {
		req.Scope = &RetentionPolicyScope{Level: "project", Ref: cur.ProjectID}
	}
	next, err := req.toPolicy()
	if err != nil {
		return err
	}
	if next.ProjectID != cur.ProjectID || (req.ID != 0 && req.ID != cur.ID) {
		return badRequest(fmt.Sprintf("policy %d belongs to project %d: its id and scope cannot change", cur.ID, cur.ProjectID))
	}
	next.ID = cur.ID
	if _, err := a.cfg.retention.Update(c.ctx(), next); err != nil {
		return err
	}
	return c.ok()
}

func (a *API) deleteRetention(c *call) error {
	p, err := a.retentionPolicy(c, rbac.ActionDelete)
	if err != nil {
		return err
	}
	if err := a.cfg.retention.Delete(c.ctx(), p.ID); err != nil {
		return err
	}
	return c.ok()
}

func (a *API) runRetention(c *call) error {
	p, err := a.retentionPolicy(c, rbac.ActionOperate)
	if err != nil {
		return err
	}
	req, err := decodeAs[RetentionExecutionReq](c)
	if err != nil && !isEmptyBody(err) { // no body: not a dry run
		return err
	}
	e, err := a.cfg.retention.Run(c.ctx(), p.ID, req.DryRun, retention.TriggerManual)
	if err != nil {
		return err
	}
	return c.created(fmt.Sprintf("%s/retentions/%d/executions/%d", BasePath, p.ID, e.ID), nil)
}

func retentionExecutionJSON(e retention.Execution) RetentionExecution {
	out := RetentionExecution{ID: e.ID, PolicyID: e.PolicyID, StartTime: e.StartTime, Status: e.Status, Trigger: e.Trigger,
		DryRun: e.DryRun}
	if !e.EndTime.IsZero() {
		end := e.EndTime
		out.EndTime = &end
	}
	return out
}

func (a *API) listRetentionExecutions(c *call) error {
	p, err := a.retentionPolicy(c, rbac.ActionList)
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	es, total, err := a.cfg.retention.Executions(c.ctx(), p.ID, core.Page{Offset: pg.offset(), Limit: pg.size})
	if err != nil {
		return err
	}
	out := make([]RetentionExecution, 0, len(es))
	for _, e := range es {
		out = append(out, retentionExecutionJSON(e))
	}
	return c.paged(pg, total, out)
}

func (a *API) getRetentionExecution(c *call) error {
	p, err := a.retentionPolicy(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	eid, err := c.pathID("execution_id")
	if err != nil {
		return err
	}
	e, err := a.cfg.retention.Execution(c.ctx(), p.ID, eid)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, retentionExecutionJSON(e))
}

func (a *API) stopRetention(c *call) error {
	p, err := a.retentionPolicy(c, rbac.ActionOperate)
	if err != nil {
		return err
	}
	eid, err := c.pathID("execution_id")
	if err != nil {
		return err
	}
	req, err := decodeAs[RetentionExecutionAction](c)
	if err != nil {
		return err
	}
	if req.Action != "stop" {
		return badRequest(fmt.Sprintf("action %q: only stop is supported", req.Action))
	}
	// Stopping an execution that already ended does nothing, as in
	// Harbor (whose clients know no other answer).
	if err := a.cfg.retention.Stop(c.ctx(), p.ID, eid); err != nil && !errors.Is(err, core.ErrPrecondition) {
		return err
	}
	return c.ok()
}

func retentionTaskJSON(t retention.Task) RetentionExecutionTask {
	// Harbor names the repository without its project.
	repo, ok := tagselect.RepositoryName(t.Repository)
	if !ok {
		repo = t.Repository
	}
	out := RetentionExecutionTask{ID: t.ID, ExecutionID: t.ExecutionID, Repository: repo, JobID: t.JobID,
		Status: t.Status, StatusCode: t.StatusCode(), Total: t.Total, Retained: t.Retained}
	if !t.StartTime.IsZero() {
		start := t.StartTime
		out.StartTime = &start
	}
	if !t.EndTime.IsZero() {
		end := t.EndTime
		out.EndTime = &end
	}
	return out
}

func (a *API) listRetentionTasks(c *call) error {
	p, err := a.retentionPolicy(c, rbac.ActionList)
	if err != nil {
		return err
	}
	eid, err := c.pathID("execution_id")
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	ts, total, err := a.cfg.retention.Tasks(c.ctx(), p.ID, eid, core.Page{Offset: pg.offset(), Limit: pg.size})
	if err != nil {
		return err
	}
	out := make([]RetentionExecutionTask, 0, len(ts))
	for _, t := range ts {
		out = append(out, retentionTaskJSON(t))
	}
	return c.paged(pg, total, out)
}

func (a *API) retentionTaskLog(c *call) error {
	p, err := a.retentionPolicy(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	eid, err := c.pathID("execution_id")
	if err != nil {
		return err
	}
	tid, err := c.pathID("task_id")
	if err != nil {
		return err
	}
	log, err := a.cfg.retention.TaskLog(c.ctx(), p.ID, eid, tid)
	if err != nil {
		return err
	}
	return c.raw("text/plain; charset=utf-8", []byte(log))
}
