package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/gc"
	"github.com/berthlabs/berth/schedule"
)

// scheduledGC is a garbage collection whose only working method is
// Schedule.
type scheduledGC struct {
	api.GC
	sc schedule.Schedule
}

func (g scheduledGC) Schedule(context.Context) (schedule.Schedule, gc.Params, error) {
	return g.sc, gc.Params{}, nil
}

func TestListSchedules(t *testing.T) {
	daily, err := schedule.Schedule{Type: schedule.Daily}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.WithGC(scheduledGC{sc: daily}))
	e.user("alice")
	var got []map[string]any
	r := e.do(admin(), http.MethodGet, "/schedules", nil)
	r.ok(t, http.StatusOK, &got)
	assert.Equal(t, []map[string]any{{"id": float64(1 << 32), "vendor_type": "GARBAGE_COLLECTION", "vendor_id": float64(0),
		"cron": "0 0 0 * * *"}}, got)
	assert.Equal(t, "1", r.Header.Get("X-Total-Count"))

	e.do(as("alice"), http.MethodGet, "/schedules", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(admin(), http.MethodGet, "/schedules?page_size=x", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	none := newEnv(t, api.WithGC(scheduledGC{sc: schedule.Schedule{Type: schedule.None}}))
	none.do(admin(), http.MethodGet, "/schedules", nil).ok(t, http.StatusOK, &got)
	assert.Empty(t, got)
}

func TestSchedulePaused(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	var st api.SchedulerStatus
	e.do(admin(), http.MethodGet, "/schedules/all/paused", nil).ok(t, http.StatusOK, &st)
	assert.False(t, st.Paused)
	e.do(admin(), http.MethodGet, "/schedules/GARBAGE_COLLECTION/paused", nil).ok(t, http.StatusOK, &st)
	e.do(admin(), http.MethodGet, "/schedules/NOPE/paused", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("alice"), http.MethodGet, "/schedules/all/paused", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}
