package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

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

// replicationForm shows the form of a new rule (no {id}) or of {id}.
func (u *UI) replicationForm(w http.ResponseWriter, r *http.Request, s *session) {
	p := &replPolicy{Enabled: true, Override: true, Trigger: &replTrigger{Type: "manual"}}
	if r.PathValue("id") != "" {
		var ok bool
		if p, ok = u.replPolicyOf(w, r, s); !ok {
			return
		}
	}
	u.renderReplicationForm(w, r, s, p, nil)
}

// renderReplicationForm shows the form holding p; err, when set, is why
// saving it failed (the form keeps what was typed).
func (u *UI) renderReplicationForm(w http.ResponseWriter, r *http.Request, s *session, p *replPolicy, err error) {
	v := replicationsView{Policy: p}
	title := "repl.new"
	if p.ID != 0 {
		title = "repl.edit"
	}
	// The registries to choose from: the first hundred by name.
	if _, err := s.api.get("/registries?page_size=100&sort=name", &v.Registries); err != nil {
		u.failed(w, r, s, err)
		return
	}
	vw, status := replView(s, title, v), 0
	if err != nil {
		vw.Error, status = err.Error(), formStatus(err)
	}
	u.render(w, r, status, "replication", vw)
}

// formStatus is the status of a form shown again after err: the API's,
// or 400 for what the page itself refused.
func formStatus(err error) int {
	if _, ok := err.(*apiError); ok {
		return statusOf(err)
	}
	return http.StatusBadRequest
}

// replPolicyOfForm reads the rule the form describes, in the API's shape.
func replPolicyOfForm(f url.Values) *replPolicy {
	regID, _ := strconv.ParseInt(f.Get("registry_id"), 10, 64)
	speed, _ := strconv.Atoi(strings.TrimSpace(f.Get("speed")))
	flatten, _ := strconv.Atoi(f.Get("flatten"))
	p := &replPolicy{Name: strings.TrimSpace(f.Get("name")), Description: f.Get("description"),
		DestNamespace: strings.TrimSpace(f.Get("dest_namespace")), ReplaceCount: &flatten,
		Override: f.Get("override") == "true", Enabled: f.Get("enabled") == "true",
		Deletion: f.Get("deletion") == "true", Speed: speed, Filters: []replFilter{},
		Trigger: &replTrigger{Type: f.Get("trigger")}}
	if f.Get("mode") == "pull" {
		p.SrcRegistry = &replRegistry{ID: regID}
	} else {
		p.DestRegistry = &replRegistry{ID: regID}
	}
	if cron := strings.TrimSpace(f.Get("cron")); p.Trigger.Type == "scheduled" || cron != "" {
		p.Trigger.Settings = &replCron{Cron: cron}
	}
	for _, t := range (replicationsView{}).FilterTypes() {
		if v := strings.TrimSpace(f.Get("filter_" + t.Name)); v != "" {
			fl := replFilter{Type: t.Name, Value: v}
			if f.Get("exclude_"+t.Name) == "true" {
				fl.Decoration = "excludes"
			}
			p.Filters = append(p.Filters, fl)
		}
	}
	return p
}

// saveReplication creates a rule (no {id}) or replaces {id}; what the API
// refuses is shown on the form, as it was typed.
func (u *UI) saveReplication(w http.ResponseWriter, r *http.Request, s *session) {
	p := replPolicyOfForm(r.PostForm)
	if id := r.PathValue("id"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
			return
		}
		p.ID = n
	}
	var err error
	switch {
	case p.Remote().ID <= 0:
		err = errorText(u.cat.text(language(r), "repl.choose"))
	case p.ID == 0:
		_, err = s.api.send(http.MethodPost, "/replication/policies", p, nil)
	default:
		_, err = s.api.send(http.MethodPut, "/replication/policies/"+itoa(p.ID), p, nil)
	}
	if err != nil {
		u.renderReplicationForm(w, r, s, p, err)
		return
	}
	u.redirect(w, r, "/admin/replications", "repl.saved", nil)
}
