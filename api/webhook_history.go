package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/webhook"
)

// Harbor's other views of the delivery log: an execution's tasks (one per
// delivery: berth delivers an event to one target per execution) with a
// log, the time each policy last fired, and the older webhook "jobs".

// WebhookTask is the one task of a webhook execution, Harbor's Task.
type WebhookTask struct {
	ID            int64          `json:"id"`
	ExecutionID   int64          `json:"execution_id"`
	Status        string         `json:"status" doc:"Running (pending or retrying), Success or Error"`
	StatusMessage string         `json:"status_message"`
	RunCount      int            `json:"run_count" doc:"delivery attempts so far"`
	ExtraAttrs    map[string]any `json:"extra_attrs"`
	CreationTime  time.Time      `json:"creation_time"`
	UpdateTime    time.Time      `json:"update_time"`
	StartTime     time.Time      `json:"start_time"`
	EndTime       *time.Time     `json:"end_time,omitempty"`
}

// WebhookLastTrigger is when a policy last fired for an event type,
// Harbor's shape.
type WebhookLastTrigger struct {
	PolicyName      string    `json:"policy_name"`
	Enabled         bool      `json:"enabled"`
	EventType       string    `json:"event_type"`
	CreationTime    time.Time `json:"creation_time" doc:"when the policy was created"`
	LastTriggerTime time.Time `json:"last_trigger_time"`
}

// WebhookJob is a delivery in the shape of Harbor's deprecated webhook
// jobs.
type WebhookJob struct {
	ID           int64     `json:"id"`
	PolicyID     int64     `json:"policy_id"`
	EventType    string    `json:"event_type"`
	NotifyType   string    `json:"notify_type" doc:"http"`
	Status       string    `json:"status" doc:"Running (pending or retrying), Success or Error"`
	JobDetail    string    `json:"job_detail" doc:"the target's address, attempts and the last answer"`
	CreationTime time.Time `json:"creation_time"`
	UpdateTime   time.Time `json:"update_time"`
}

func (a *API) webhookHistoryRoutes() []route {
	get := http.MethodGet
	pTasks := pWebhook + "/executions/{execution_id}/tasks"
	return []route{
		{method: get, path: pTasks, id: "ListTasksOfWebhookExecution", tag: "webhook",
			summary: "An execution's task: the delivery to its target", query: paging, resp: []WebhookTask{}, paged: true,
			handle: a.listWebhookTasks},
		{method: get, path: pTasks + "/{task_id}/log", id: "GetLogsOfWebhookTask", tag: "webhook",
			summary: "A task's log: what the delivery did", text: true, handle: a.webhookTaskLog},
		{method: get, path: pProject + "/webhook/lasttrigger", id: "LastTrigger", tag: "webhook",
			summary: "When each webhook last fired, by event type (from the deliveries kept)",
			resp:    []WebhookLastTrigger{}, handle: a.webhookLastTriggers},
		{method: get, path: pProject + "/webhook/jobs", id: "ListWebhookJobs", tag: "webhook",
			summary: "Deprecated in Harbor: a webhook's deliveries as jobs",
			query:   append([]param{{"policy_id", "integer", "The webhook", true}, sorting}, paging...),
			resp:    []WebhookJob{}, paged: true, handle: a.listWebhookJobs},
	}
}

// webhookDelivery finds the {execution_id} of the request's webhook.
func (a *API) webhookDelivery(c *call) (webhook.Delivery, error) {
	p, err := a.webhookPolicy(c, rbac.ActionRead)
	if err != nil {
		return webhook.Delivery{}, err
	}
	id, err := c.pathID("execution_id")
	if err != nil {
		return webhook.Delivery{}, err
	}
	d, err := a.cfg.webhooks.Delivery(c.ctx(), p.ProjectID, id)
	if err == nil && d.PolicyID != p.ID {
		err = notFound("execution " + strconv.FormatInt(id, 10) + " is not one of this webhook's")
	}
	return d, err
}

func webhookTaskJSON(d webhook.Delivery) WebhookTask {
	e := webhookExecutionJSON(d)
	msg := d.LastError
	if msg == "" && d.HTTPStatus != 0 {
		msg = fmt.Sprintf("HTTP %d", d.HTTPStatus)
	}
	return WebhookTask{ID: d.ID, ExecutionID: d.ID, Status: e.Status, StatusMessage: msg, RunCount: d.Attempts,
		ExtraAttrs: e.ExtraAttrs, CreationTime: d.CreatedAt, UpdateTime: d.UpdatedAt, StartTime: d.CreatedAt, EndTime: e.EndTime}
}

func (a *API) listWebhookTasks(c *call) error {
	d, err := a.webhookDelivery(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	out := []WebhookTask{}
	if pg.offset() == 0 {
		out = append(out, webhookTaskJSON(d))
	}
	return c.paged(pg, 1, out)
}

func (a *API) webhookTaskLog(c *call) error {
	d, err := a.webhookDelivery(c)
	if err != nil {
		return err
	}
	tid, err := c.pathID("task_id")
	if err != nil {
		return err
	}
	if tid != d.ID {
		return notFound("task " + strconv.FormatInt(tid, 10) + " is not one of this execution's")
	}
	var b strings.Builder
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(&b, "%s queued %s event for %s (%s payload, delivery %s)\n", stamp(d.CreatedAt), d.EventType, d.Address,
		orDefault(d.PayloadFormat, webhook.FormatDefault), d.UUID)
	fmt.Fprintf(&b, "%s attempts: %d", stamp(d.UpdatedAt), d.Attempts)
	if d.HTTPStatus != 0 {
		fmt.Fprintf(&b, ", last answer HTTP %d", d.HTTPStatus)
	}
	if d.LastError != "" {
		fmt.Fprintf(&b, ", last error: %s", d.LastError)
	}
	b.WriteString("\n")
	switch d.Status {
	case webhook.StatusSuccess:
		fmt.Fprintf(&b, "%s delivered\n", stamp(d.UpdatedAt))
	case webhook.StatusFailed:
		fmt.Fprintf(&b, "%s given up\n", stamp(d.UpdatedAt))
	default:
		fmt.Fprintf(&b, "next attempt at %s\n", stamp(d.NextAttemptAt))
	}
	return c.raw("text/plain; charset=utf-8", []byte(b.String()))
}

func (a *API) webhookLastTriggers(c *call) error {
	pid, err := a.webhookProject(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	lts, err := a.cfg.webhooks.LastTriggers(c.ctx(), pid)
	if err != nil {
		return err
	}
	byID := map[int64]webhook.Policy{}
	out := []WebhookLastTrigger{}
	for _, lt := range lts {
		p, ok := byID[lt.PolicyID]
		if !ok {
			if p, err = a.cfg.webhooks.Get(c.ctx(), pid, lt.PolicyID); errors.Is(err, core.ErrNotFound) {
				continue // deleted meanwhile
			} else if err != nil {
				return err
			}
			byID[p.ID] = p
		}
		out = append(out, WebhookLastTrigger{PolicyName: p.Name, Enabled: p.Enabled, EventType: string(lt.EventType),
			CreationTime: p.CreatedAt, LastTriggerTime: lt.At})
	}
	return c.json(http.StatusOK, out)
}

func (a *API) listWebhookJobs(c *call) error {
	pid, err := a.webhookProject(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	policyID, err := strconv.ParseInt(q.Get("policy_id"), 10, 64)
	if err != nil || policyID <= 0 {
		return badRequest("policy_id: want the webhook's id")
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	ds, total, err := listPage(c, pg, "", deliverySort(), func(p core.Page) ([]webhook.Delivery, int, error) {
		return a.cfg.webhooks.Deliveries(c.ctx(), pid, policyID, p)
	})
	if err != nil {
		return err
	}
	out := make([]WebhookJob, 0, len(ds))
	for _, d := range ds {
		detail := fmt.Sprintf("%s: %d attempts", d.Address, d.Attempts)
		if d.HTTPStatus != 0 {
			detail += fmt.Sprintf(", HTTP %d", d.HTTPStatus)
		}
		if d.LastError != "" {
			detail += ", " + d.LastError
		}
		out = append(out, WebhookJob{ID: d.ID, PolicyID: d.PolicyID, EventType: string(d.EventType), NotifyType: "http",
			Status: webhookExecutionJSON(d).Status, JobDetail: detail, CreationTime: d.CreatedAt, UpdateTime: d.UpdatedAt})
	}
	return c.paged(pg, total, out)
}
