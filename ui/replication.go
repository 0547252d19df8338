package ui

import (
	"net/http"
	"net/url"
	"strconv"
)

// replPolicy is a replication rule as the API shows it: src_registry set
// pulls from it, dest_registry set pushes to it.
type replPolicy struct {
	ID            int64          `json:"id"`
	Name          string         `json:"name"`
	Description   string         `json:"description"`
	SrcRegistry   *replRegistry  `json:"src_registry"`
	DestRegistry  *replRegistry  `json:"dest_registry"`
	DestNamespace string         `json:"dest_namespace"`
	ReplaceCount  *int           `json:"dest_namespace_replace_count,omitempty"`
	Trigger       *replTrigger   `json:"trigger"`
	Filters       []replFilter   `json:"filters"`
	Deletion      bool           `json:"replicate_deletion"`
	Override      bool           `json:"override"`
	Enabled       bool           `json:"enabled"`
	Speed         int            `json:"speed"`
	CreationTime  string         `json:"creation_time,omitempty"`
	Last          *replExecution `json:"-"` // the newest execution, for the list
}

type replRegistry struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
}

type replTrigger struct {
	Type     string    `json:"type"`
	Settings *replCron `json:"trigger_settings,omitempty"`
}

type replCron struct {
	Cron string `json:"cron"`
}

type replFilter struct {
	Type       string `json:"type"`
	Value      string `json:"value"`
	Decoration string `json:"decoration,omitempty"`
}

// Mode is "push" or "pull" (the API answers a push rule's src_registry
// as null).
func (p replPolicy) Mode() string {
	if p.SrcRegistry != nil {
		return "pull"
	}
	return "push"
}

// Remote is the other registry of the rule.
func (p replPolicy) Remote() replRegistry {
	if p.Mode() == "pull" {
		return *p.SrcRegistry
	}
	if p.DestRegistry != nil {
		return *p.DestRegistry
	}
	return replRegistry{}
}

// TriggerType is the trigger's type, manual by default.
func (p replPolicy) TriggerType() string {
	if p.Trigger == nil || p.Trigger.Type == "" {
		return "manual"
	}
	return p.Trigger.Type
}

// Cron is a scheduled trigger's cron.
func (p replPolicy) Cron() string {
	if p.Trigger == nil || p.Trigger.Settings == nil {
		return ""
	}
	return p.Trigger.Settings.Cron
}

// Filter is the value of the filter of type t ("" when none).
func (p replPolicy) Filter(t string) string {
	for _, f := range p.Filters {
		if f.Type == t {
			return f.Value
		}
	}
	return ""
}

// Excludes tells whether the filter of type t excludes what it matches.
func (p replPolicy) Excludes(t string) bool {
	for _, f := range p.Filters {
		if f.Type == t {
			return f.Decoration == "excludes"
		}
	}
	return false
}

// Flatten is the replace count the form's select shows.
func (p replPolicy) Flatten() int {
	if p.ReplaceCount == nil {
		return 0
	}
	return *p.ReplaceCount
}

type replicationsView struct {
	List       *listQuery
	Policies   []replPolicy
	Policy     *replPolicy // the form's rule (ID 0 for a new one)
	Registries []registryRef
}

func replView(s *session, title string, data any) *view {
	return &view{User: s.user, CSRF: s.api.csrf, Nav: "replications", Title: title, Data: data}
}

func (u *UI) replicationsPage(w http.ResponseWriter, r *http.Request, s *session) {
	l := storeOrder(r, parseList(r, "name", "creation_time", "update_time"))
	p := l.apiParams()
	if l.Search != "" {
		p.Set("q", "name=~"+l.Search)
	}
	var v replicationsView
	a, err := s.api.get("/replication/policies?"+p.Encode(), &v.Policies)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total, v.List = a.total(), l
	// The last execution of each rule shown: one call per row of a page.
	for i := range v.Policies {
		var last []replExecution
		q := url.Values{"policy_id": {itoa(v.Policies[i].ID)}, "page_size": {"1"}} // newest first
		if _, err := s.api.get("/replication/executions?"+q.Encode(), &last); err == nil && len(last) > 0 {
			v.Policies[i].Last = &last[0]
		}
	}
	u.render(w, r, 0, "replications", replView(s, "repl.title", v))
}

// replPolicyOf reads the rule {id} names; on failure it has answered.
func (u *UI) replPolicyOf(w http.ResponseWriter, r *http.Request, s *session) (*replPolicy, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
		return nil, false
	}
	var p replPolicy
	if _, err := s.api.get("/replication/policies/"+itoa(id), &p); err != nil {
		u.failed(w, r, s, err)
		return nil, false
	}
	return &p, true
}

func (u *UI) deleteReplication(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		u.redirect(w, r, "/admin/replications", "", errorText("bad rule id"))
		return
	}
	if _, err := s.api.send(http.MethodDelete, "/replication/policies/"+id, nil, nil); err != nil {
		u.redirect(w, r, "/admin/replications", "", err)
		return
	}
	u.redirect(w, r, "/admin/replications", "repl.deleted", nil)
}

// runReplication starts the rule now and shows its executions.
func (u *UI) runReplication(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		u.redirect(w, r, "/admin/replications", "", errorText("bad rule id"))
		return
	}
	if _, err := s.api.send(http.MethodPost, "/replication/executions", map[string]int64{"policy_id": id}, nil); err != nil {
		u.redirect(w, r, "/admin/replications", "", err)
		return
	}
	u.redirect(w, r, "/admin/replications/"+itoa(id)+"/executions", "repl.started", nil)
}

// TriggerKey is the catalog key of the rule's trigger.
func (p replPolicy) TriggerKey() string {
	for _, t := range (replicationsView{}).TriggerTypes() {
		if t[0] == p.TriggerType() {
			return t[1]
		}
	}
	return "repl.trigger_manual"
}
