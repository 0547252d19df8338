package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
	Type     string `json:"type"`
	Settings *struct {
		Cron string `json:"cron"`
	} `json:"trigger_settings,omitempty"`
}

type replFilter struct {
	Type       string `json:"type"`
	Value      string `json:"value"`
	Decoration string `json:"decoration,omitempty"`
}

// Mode is "push" or "pull".
func (p replPolicy) Mode() string {
	if p.SrcRegistry != nil && p.SrcRegistry.ID > 0 {
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

// replicationForm shows the form of a new rule (no {id}) or of {id}.
func (u *UI) replicationForm(w http.ResponseWriter, r *http.Request, s *session) {
	v := replicationsView{Policy: &replPolicy{Enabled: true, Override: true, Trigger: &replTrigger{Type: "manual"}}}
	title := "repl.new"
	if r.PathValue("id") != "" {
		p, ok := u.replPolicyOf(w, r, s)
		if !ok {
			return
		}
		v.Policy, title = p, "repl.edit"
	}
	// The registries to choose from: the first hundred by name.
	if _, err := s.api.get("/registries?page_size=100&sort=name", &v.Registries); err != nil {
		u.failed(w, r, s, err)
		return
	}
	u.render(w, r, 0, "replication", replView(s, title, v))
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

// replPolicyBody is the API's rule for the form.
func replPolicyBody(f url.Values) (map[string]any, error) {
	regID, err := strconv.ParseInt(f.Get("registry_id"), 10, 64)
	if err != nil || regID <= 0 {
		return nil, errorText("choose a registry")
	}
	speed, _ := strconv.Atoi(strings.TrimSpace(f.Get("speed")))
	flatten, _ := strconv.Atoi(f.Get("flatten"))
	b := map[string]any{"name": strings.TrimSpace(f.Get("name")), "description": f.Get("description"),
		"dest_namespace": strings.TrimSpace(f.Get("dest_namespace")), "dest_namespace_replace_count": flatten,
		"override": f.Get("override") == "true", "enabled": f.Get("enabled") == "true",
		"replicate_deletion": f.Get("deletion") == "true", "speed": speed}
	ref := map[string]any{"id": regID}
	if f.Get("mode") == "pull" {
		b["src_registry"], b["dest_registry"] = ref, nil
	} else {
		b["src_registry"], b["dest_registry"] = nil, ref
	}
	trigger := map[string]any{"type": f.Get("trigger")}
	if f.Get("trigger") == "scheduled" {
		trigger["trigger_settings"] = map[string]string{"cron": strings.TrimSpace(f.Get("cron"))}
	}
	b["trigger"] = trigger
	filters := []map[string]string{}
	for _, t := range []string{"name", "tag", "label", "resource"} {
		if v := strings.TrimSpace(f.Get("filter_" + t)); v != "" {
			fl := map[string]string{"type": t, "value": v}
			if f.Get("exclude_"+t) == "true" {
				fl["decoration"] = "excludes"
			}
			filters = append(filters, fl)
		}
	}
	b["filters"] = filters
	return b, nil
}

// saveReplication creates a rule (no {id}) or replaces {id}.
func (u *UI) saveReplication(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	back := "/admin/replications/new"
	if id != "" {
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			u.redirect(w, r, "/admin/replications", "", errorText("bad rule id"))
			return
		}
		back = "/admin/replications/" + id
	}
	body, err := replPolicyBody(r.PostForm)
	if err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	if id == "" {
		_, err = s.api.send(http.MethodPost, "/replication/policies", body, nil)
	} else {
		_, err = s.api.send(http.MethodPut, "/replication/policies/"+id, body, nil)
	}
	if err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	u.redirect(w, r, "/admin/replications", "repl.saved", nil)
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

// replField is a form field the template repeats: its name, label key
// and hint key.
type replField struct{ Name, Label, Hint string }

// FilterTypes are the rule's resource filters, in the form's order.
func (replicationsView) FilterTypes() []replField {
	return []replField{
		{"name", "repl.filter_name", "repl.filterhint_name"},
		{"tag", "repl.filter_tag", "repl.filterhint_tag"},
		{"label", "repl.filter_label", "repl.filterhint_label"},
		{"resource", "repl.filter_resource", "repl.filterhint_resource"},
	}
}

// TriggerTypes are the triggers a rule may have: value and label key.
func (replicationsView) TriggerTypes() [][2]string {
	return [][2]string{{"manual", "repl.trigger_manual"}, {"scheduled", "repl.trigger_scheduled"},
		{"event_based", "repl.trigger_event_based"}}
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
