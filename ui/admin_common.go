package ui

import (
	"net/http"
	"strings"
)

// adminView is the view of an administration page: nav highlights its
// sidebar entry, title is its catalog key.
func adminView(s *session, nav, title string, data any) *view {
	return &view{User: s.user, CSRF: s.api.csrf, Nav: nav, Title: title, Data: data}
}

// scheduleTypes are the choices of a schedule form, as the API names them.
var scheduleTypes = [...]string{"None", "Hourly", "Daily", "Weekly", "Custom"}

// scheduleChoice is one option of a schedule form: its API value and
// catalog key.
type scheduleChoice struct{ Value, Key string }

// ScheduleChoices lists the schedule types with their names.
func (v *view) ScheduleChoices() []scheduleChoice {
	keys := map[string]string{"None": "gc.sched.none", "Hourly": "gc.sched.hourly", "Daily": "gc.sched.daily",
		"Weekly": "gc.sched.weekly", "Custom": "gc.sched.custom"}
	out := make([]scheduleChoice, 0, len(scheduleTypes))
	for _, t := range scheduleTypes {
		out = append(out, scheduleChoice{t, keys[t]})
	}
	return out
}

// scheduleObj is a schedule in the API's shape (GC, scan-all).
type scheduleObj struct {
	Type              string `json:"type"`
	Cron              string `json:"cron,omitempty"`
	NextScheduledTime string `json:"next_scheduled_time,omitempty"`
}

// scheduleFromForm reads a schedule form's type and cron; a type the
// form does not offer is left for the API to refuse.
func scheduleFromForm(r *http.Request) scheduleObj {
	sc := scheduleObj{Type: strings.TrimSpace(r.PostForm.Get("schedule_type"))}
	if sc.Type == "Custom" {
		sc.Cron = strings.TrimSpace(r.PostForm.Get("cron"))
	}
	return sc
}

// checked reads a checkbox of a posted form.
func checked(r *http.Request, name string) bool { return r.PostForm.Get(name) == "true" }
