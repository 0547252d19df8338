package ui

import (
	"net/http"
	"strconv"
	"time"
)

// The policy tab of a project: tag retention (Harbor's /retentions, one
// policy a project whose id is the project's) and tag immutability rules
// (/projects/{id}/immutabletagrules). Query view=retention|immutability
// picks the section.

// retentionSelector is a repository or tag selector, as the API has it.
type retentionSelector struct {
	Kind       string `json:"kind"`
	Decoration string `json:"decoration"`
	Pattern    string `json:"pattern"`
	Extras     string `json:"extras,omitempty"`
}

// retentionRule is one rule of a policy; the page edits its first
// repository and first tag selector and keeps the others as they are.
type retentionRule struct {
	ID             int                            `json:"id"`
	Priority       int                            `json:"priority"`
	Disabled       bool                           `json:"disabled"`
	Action         string                         `json:"action"`
	Template       string                         `json:"template"`
	Params         map[string]any                 `json:"params"`
	TagSelectors   []retentionSelector            `json:"tag_selectors"`
	ScopeSelectors map[string][]retentionSelector `json:"scope_selectors"`
}

// retentionPolicy is a project's policy; the page reads it whole and
// sends it back whole with one rule or the schedule changed.
type retentionPolicy struct {
	ID        int64             `json:"id"`
	Algorithm string            `json:"algorithm"`
	Rules     []retentionRule   `json:"rules"`
	Trigger   *retentionTrigger `json:"trigger"`
	Scope     *struct {
		Level string `json:"level"`
		Ref   int64  `json:"ref"`
	} `json:"scope"`
}

type retentionTrigger struct {
	Kind       string         `json:"kind"`
	Settings   map[string]any `json:"settings"`
	References map[string]any `json:"references,omitempty"`
}

// Cron is the policy's schedule, "" for none.
func (p *retentionPolicy) Cron() string {
	if p == nil || p.Trigger == nil {
		return ""
	}
	c, _ := p.Trigger.Settings["cron"].(string)
	return c
}

// NextRun is when the schedule fires next, as the API says, or "".
func (p *retentionPolicy) NextRun() string {
	if p == nil || p.Trigger == nil {
		return ""
	}
	s, _ := p.Trigger.References["next_scheduled_time"].(string)
	return s
}

// retentionExecution is one run of a policy.
type retentionExecution struct {
	ID        int64      `json:"id"`
	StartTime time.Time  `json:"start_time"`
	EndTime   *time.Time `json:"end_time"`
	Status    string     `json:"status"`
	Trigger   string     `json:"trigger"`
	DryRun    bool       `json:"dry_run"`
}

// Running tells whether the execution has not ended yet.
func (e retentionExecution) Running() bool { return e.Status == "Running" || e.Status == "Pending" }

// Duration is how long the execution took, "" while it runs.
func (e retentionExecution) Duration() string { return duration(&e.StartTime, e.EndTime) }

// StatusKey and StatusClass are the status's catalog key and badge.
func (e retentionExecution) StatusKey() string   { return retentionStatusKey(e.Status) }
func (e retentionExecution) StatusClass() string { return statusClass(e.Status) }

// TriggerKey is the catalog key of what started the execution.
func (e retentionExecution) TriggerKey() string {
	if e.Trigger == "SCHEDULE" {
		return "ret.trigger.schedule"
	}
	return "ret.trigger.manual"
}

// duration formats end-start, rounded to the second ("" without both).
func duration(start, end *time.Time) string {
	if start == nil || end == nil || start.IsZero() || end.IsZero() {
		return ""
	}
	return end.Sub(*start).Round(time.Second).String()
}

// retentionStatusKey is a retention job status's catalog key; statusClass its badge class.
func retentionStatusKey(status string) string {
	switch status {
	case "Pending":
		return "ret.status.pending"
	case "Running":
		return "ret.status.running"
	case "Success":
		return "ret.status.success"
	case "Error":
		return "ret.status.error"
	case "Stopped":
		return "ret.status.stopped"
	}
	return "ret.status.unknown"
}

func statusClass(status string) string {
	switch status {
	case "Success":
		return "ok"
	case "Error":
		return "err"
	case "Stopped":
		return "warn"
	}
	return ""
}

// policyView is the policy tab: one of its two sections.
type policyView struct {
	Project *project
	Section string // "retention" or "immutability"
	List    *listQuery

	// Tag retention: the policy (nil when the project has none), its
	// executions, and the API's refusal to show them, if it refused.
	Policy     *retentionPolicy
	Rules      []ruleRow
	Executions []retentionExecution
	Running    bool
	Schedule   string // one of scheduleKinds
	MaxRules   bool   // no room for another rule

	// Tag immutability.
	Immutable     []immutableRule
	ImmutableFull bool // no room for another rule

	ReadErr string
}

// maxPolicyRules is Harbor's (and the API's) limit of rules a
// retention policy or a project's immutability rules hold.
const maxPolicyRules = 15

func (u *UI) policyPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	v := policyView{Project: p, Section: "retention", List: parseList(r)}
	if r.URL.Query().Get("view") == "immutability" {
		v.Section = "immutability"
	}
	v.List.extra.Set("view", v.Section)
	params := v.List.apiParams()
	id := itoa(p.ProjectID)
	if v.Section == "immutability" {
		a, err := s.api.get("/projects/"+id+"/immutabletagrules?"+params.Encode(), &v.Immutable)
		if err != nil {
			v.ReadErr = err.Error()
		} else {
			v.List.Total = a.total()
			v.ImmutableFull = v.List.Total >= maxPolicyRules
		}
		u.render(w, r, 0, "policy", projectView(s, p, "policy", "immu.title", v))
		return
	}
	pol, err := readRetention(s, p.ProjectID)
	switch {
	case err != nil:
		v.ReadErr = err.Error()
	case pol != nil:
		v.Policy, v.Rules, v.Schedule = pol, ruleRows(pol.Rules), scheduleKind(pol.Cron())
		v.MaxRules = len(pol.Rules) >= maxPolicyRules
		a, err := s.api.get("/retentions/"+id+"/executions?"+params.Encode(), &v.Executions)
		if err != nil {
			v.ReadErr = err.Error()
		} else {
			v.List.Total = a.total()
		}
		for _, e := range v.Executions {
			v.Running = v.Running || e.Running()
		}
	default:
		v.Schedule = "none"
	}
	u.render(w, r, 0, "policy", projectView(s, p, "policy", "ret.title", v))
}

// readRetention reads the project's retention policy: nil, nil when it
// has none (the API answers 404 for a project it has already shown us).
func readRetention(s *session, projectID int64) (*retentionPolicy, error) {
	var pol retentionPolicy
	if _, err := s.api.get("/retentions/"+itoa(projectID), &pol); err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, nil
		}
		return nil, err
	}
	return &pol, nil
}

// pathNumber reads a positive number from the path segment name.
func pathNumber(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n, err == nil && n > 0
}

// policyPath is the policy tab's path for a project's section.
func policyPath(projectID int64, section string) string {
	return "/projects/" + itoa(projectID) + "/policy?view=" + section
}
