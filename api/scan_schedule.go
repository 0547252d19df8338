package api

import (
	"strings"

	"net/http"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/scan"
)

// Scan-all: running it now, stopping it, its schedule and its latest run.

func scheduleJSON(s scan.Schedule) ScanAllSchedule {
	return ScanAllSchedule{Schedule: &ScanScheduleObj{Type: s.Type, Cron: s.Cron}}
}

func (a *API) getScanAllSchedule(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	s, err := a.cfg.scan.svc.ScanAllSchedule(c.ctx())
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, scheduleJSON(s))
}

func (a *API) setScanAllSchedule(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	req, err := decodeAs[ScanAllSchedule](c)
	if err != nil {
		return err
	}
	if req.Schedule == nil {
		return badRequest("schedule is required: {\"schedule\":{\"type\":\"Daily\"}}")
	}
	if req.Schedule.Type == "Manual" {
		if c.r.Method != http.MethodPost {
			return badRequest("type Manual runs scan-all now: use POST")
		}
		t, err := a.cfg.scan.svc.ScanAll(c.ctx(), scan.TriggerManual)
		if err != nil {
			return err
		}
		return c.json(http.StatusCreated, scanTaskJSON(t))
	}
	s, err := a.cfg.scan.svc.SetScanAllSchedule(c.ctx(), scan.Schedule{Type: req.Schedule.Type, Cron: req.Schedule.Cron})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if c.r.Method == http.MethodPost {
		status = http.StatusCreated
	}
	return c.json(status, scheduleJSON(s))
}

func (a *API) scanAllNow(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	return c.acceptedTask(a.cfg.scan.svc.ScanAll(c.ctx(), scan.TriggerManual))
}

func (a *API) scanAllMetrics(c *call) error { return a.answerScanAllMetrics(c, "") }

func (a *API) scheduledScanAllMetrics(c *call) error {
	return a.answerScanAllMetrics(c, scan.TriggerSchedule)
}

// answerScanAllMetrics answers the latest scan-all of trigger (any when
// empty) with its scans by status.
func (a *API) answerScanAllMetrics(c *call, trigger scan.Trigger) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	st, ok, err := a.cfg.scan.svc.LatestScanAll(c.ctx(), trigger)
	if err != nil || !ok {
		return errOr(err, c.json(http.StatusOK, ScanAllMetrics{}))
	}
	ti := scanTaskJSON(st.Task)
	out := ScanAllMetrics{Total: int64(st.Total), Completed: int64(st.Completed), Metrics: map[string]int64{},
		Ongoing: !st.Task.Status.Finished() || st.Completed < st.Total, Trigger: harborTrigger(st.Task.Trigger), Task: &ti}
	for status, n := range st.ByStatus {
		out.Metrics[string(status)] = int64(n)
	}
	return c.json(http.StatusOK, out)
}

// harborTrigger spells a scan-all's trigger as Harbor's executions do.
func harborTrigger(t scan.Trigger) string { return strings.ToUpper(string(t)) }

// errOr is err when there is one, else the answer's.
func errOr(err, answer error) error {
	if err != nil {
		return err
	}
	return answer
}
