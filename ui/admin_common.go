package ui

import (
	"net/http"
	"strings"
)

// adminScheduleTypes are the choices of a schedule form, as the API names them.
var adminScheduleTypes = [...]string{"None", "Hourly", "Daily", "Weekly", "Custom"}

// adminScheduleChoice is one option of a schedule form: its API value and
// catalog key.
type adminScheduleChoice struct{ Value, Key string }

// ScheduleChoices lists the schedule types with their names.
func (v *view) ScheduleChoices() []adminScheduleChoice {
	keys := map[string]string{"None": "gc.sched.none", "Hourly": "gc.sched.hourly", "Daily": "gc.sched.daily",
		"Weekly": "gc.sched.weekly", "Custom": "gc.sched.custom"}
	out := make([]adminScheduleChoice, 0, len(adminScheduleTypes))
	for _, t := range adminScheduleTypes {
		out = append(out, adminScheduleChoice{t, keys[t]})
	}
	return out
}

// adminSchedule is a schedule in the API's shape (GC, scan-all).
type adminSchedule struct {
	Type              string `json:"type"`
	Cron              string `json:"cron,omitempty"`
	NextScheduledTime string `json:"next_scheduled_time,omitempty"`
}

// adminScheduleFromForm reads a schedule form's type and cron; a type the
// form does not offer is left for the API to refuse.
func adminScheduleFromForm(r *http.Request) adminSchedule {
	sc := adminSchedule{Type: strings.TrimSpace(r.PostForm.Get("schedule_type"))}
	if sc.Type == "Custom" {
		sc.Cron = strings.TrimSpace(r.PostForm.Get("cron"))
	}
	return sc
}

// formChecked reads a checkbox of a posted form.
func formChecked(r *http.Request, name string) bool { return r.PostForm.Get(name) == "true" }
