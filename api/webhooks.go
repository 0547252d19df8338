package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/webhook"
)

// Webhooks is a project's webhooks as the API needs them;
// *webhook.Service implements it.
type Webhooks interface {
	Create(ctx context.Context, p webhook.Policy) (webhook.Policy, error)
	Get(ctx context.Context, projectID, id int64) (webhook.Policy, error)
	List(ctx context.Context, projectID int64, page core.Page) ([]webhook.Policy, int, error)
	Update(ctx context.Context, projectID, id int64, fn func(p *webhook.Policy) error) (webhook.Policy, error)
	Delete(ctx context.Context, projectID, id int64) error
	Deliveries(ctx context.Context, projectID, policyID int64, page core.Page) ([]webhook.Delivery, int, error)
	Delivery(ctx context.Context, projectID, id int64) (webhook.Delivery, error)
	SendTest(ctx context.Context, projectID, policyID int64) error
	LastTriggers(ctx context.Context, projectID int64) ([]webhook.LastTrigger, error)
}

// WithWebhooks serves project webhooks under
// /projects/{p}/webhook (maintainers read, project admins change).
func WithWebhooks(w Webhooks) Option { return func(c *config) { c.webhooks = w } }

// WebhookTarget is where a webhook sends its events, Harbor's shape.
type WebhookTarget struct {
	Type           string `json:"type" doc:"http"`
	Address        string `json:"address"`
	AuthHeader     string `json:"auth_header,omitempty" doc:"sent as Authorization; write-only: answers show it masked"`
	SkipCertVerify bool   `json:"skip_cert_verify"`
	PayloadFormat  string `json:"payload_format,omitempty" doc:"Default or CloudEvents"`
}

// WebhookPolicy is a project's webhook, Harbor's shape.
type WebhookPolicy struct {
	ID           int64           `json:"id"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	ProjectID    int64           `json:"project_id"`
	Targets      []WebhookTarget `json:"targets"`
	EventTypes   []string        `json:"event_types"`
	Creator      string          `json:"creator"`
	CreationTime time.Time       `json:"creation_time"`
	UpdateTime   time.Time       `json:"update_time"`
	Enabled      bool            `json:"enabled"`
	// Secret signs every delivery (X-Berth-Signature-256); answered once,
	// by the creation, and never again.
	Secret string `json:"secret,omitempty" doc:"berth: the HMAC-SHA256 key of X-Berth-Signature-256; set it, or read the generated one from the creation's answer (never shown again)"`
}

// WebhookEventTypes lists what a project's webhooks may subscribe to.
type WebhookEventTypes struct {
	EventType      []string               `json:"event_type"`
	NotifyType     []string               `json:"notify_type"`
	PayloadFormats []WebhookPayloadFormat `json:"payload_formats"`
}

// WebhookPayloadFormat lists a notify type's payload formats.
type WebhookPayloadFormat struct {
	NotifyType string   `json:"notify_type"`
	Formats    []string `json:"formats"`
}

// WebhookExecution is one delivery of an event to a target, in the shape
// of Harbor's webhook executions.
type WebhookExecution struct {
	ID         int64          `json:"id"`
	VendorType string         `json:"vendor_type" doc:"WEBHOOK"`
	VendorID   int64          `json:"vendor_id" doc:"the policy's id"`
	Status     string         `json:"status" doc:"Running (pending or retrying), Success or Error"`
	Trigger    string         `json:"trigger" doc:"EVENT, or MANUAL for a test"`
	ExtraAttrs map[string]any `json:"extra_attrs" doc:"event_type, address, payload_format, attempts, http_status, last_error, delivery_id"`
	StartTime  time.Time      `json:"start_time"`
	EndTime    *time.Time     `json:"end_time,omitempty"`
}

const pWebhook = pProject + "/webhook/policies/{webhook_policy_id}"

func (a *API) webhookRoutes() []route {
	if a.cfg.webhooks == nil {
		return nil
	}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	return append([]route{
		{method: get, path: pProject + "/webhook/policies", id: "ListWebhookPoliciesOfProject", tag: "webhook",
			summary: "The project's webhooks", query: append([]param{sorting}, paging...), resp: []WebhookPolicy{}, paged: true, handle: a.listWebhooks},
		{method: post, path: pProject + "/webhook/policies", id: "CreateWebhookPolicyOfProject", tag: "webhook",
			summary: "Add a webhook to the project (project admins); the answer holds its signing secret, once",
			body:    WebhookPolicy{}, resp: WebhookPolicy{}, status: http.StatusCreated, handle: a.createWebhook},
		{method: get, path: pWebhook, id: "GetWebhookPolicyOfProject", tag: "webhook", summary: "One webhook",
			resp: WebhookPolicy{}, handle: a.getWebhook},
		{method: put, path: pWebhook, id: "UpdateWebhookPolicyOfProject", tag: "webhook",
			summary: "Change a webhook (project admins); an auth_header left masked, or a secret left out, is kept",
			body:    WebhookPolicy{}, handle: a.updateWebhook},
		{method: del, path: pWebhook, id: "DeleteWebhookPolicyOfProject", tag: "webhook", summary: "Remove a webhook (project admins)",
			handle: a.deleteWebhook},
		{method: get, path: pWebhook + "/executions", id: "ListExecutionsOfWebhookPolicy", tag: "webhook",
			summary: "The webhook's deliveries, newest first", query: append([]param{sorting}, paging...), resp: []WebhookExecution{}, paged: true,
			handle: a.listWebhookExecutions},
		{method: get, path: pWebhook + "/executions/{execution_id}", id: "GetWebhookExecution", tag: "webhook",
			summary: "berth: one delivery", resp: WebhookExecution{}, handle: a.getWebhookExecution},
		{method: post, path: pWebhook + "/test", id: "TestWebhookPolicy", tag: "webhook",
			summary: "berth: send a signed test event to the webhook's targets; its delivery shows in the executions",
			status:  http.StatusAccepted, handle: a.testWebhook},
		{method: get, path: pProject + "/webhook/events", id: "GetSupportedEventTypes", tag: "webhook",
			summary: "The event types and payload formats webhooks support", resp: WebhookEventTypes{}, handle: a.webhookEvents},
	}, a.webhookHistoryRoutes()...)
}

func webhookJSON(p webhook.Policy) WebhookPolicy {
	out := WebhookPolicy{ID: p.ID, Name: p.Name, Description: p.Description, ProjectID: p.ProjectID, Creator: p.Creator,
		CreationTime: p.CreatedAt, UpdateTime: p.UpdatedAt, Enabled: p.Enabled, Secret: p.Secret,
		EventTypes: []string{}, Targets: []WebhookTarget{}}
	for _, t := range p.EventTypes {
		out.EventTypes = append(out.EventTypes, string(t))
	}
	for _, t := range p.Targets {
		auth := ""
		if t.AuthHeader != "" {
			auth = maskedSecret
		}
		out.Targets = append(out.Targets, WebhookTarget{Type: orDefault(t.Type, webhook.TargetHTTP), Address: t.Address,
			AuthHeader: auth, SkipCertVerify: t.SkipCertVerify, PayloadFormat: string(orDefault(t.PayloadFormat, webhook.FormatDefault))})
	}
	return out
}

// maskedSecret stands for a write-only value in answers; sent back, it
// keeps the stored one.
const maskedSecret = "********"

func orDefault[T ~string](v, def T) T {
	if v == "" {
		return def
	}
	return v
}

// toPolicy reads a request into a policy; kept supplies the write-only
// values a masked field keeps.
func (req WebhookPolicy) toPolicy(projectID int64, kept []webhook.Target) webhook.Policy {
	p := webhook.Policy{ProjectID: projectID, Name: req.Name, Description: req.Description, Enabled: req.Enabled,
		Secret: req.Secret}
	for _, t := range req.EventTypes {
		p.EventTypes = append(p.EventTypes, webhook.EventType(t))
	}
	for i, t := range req.Targets {
		auth := t.AuthHeader
		if auth == maskedSecret && i < len(kept) {
			auth = kept[i].AuthHeader
		}
		p.Targets = append(p.Targets, webhook.Target{Type: t.Type, Address: t.Address, AuthHeader: auth,
			SkipCertVerify: t.SkipCertVerify, PayloadFormat: webhook.PayloadFormat(t.PayloadFormat)})
	}
	return p
}

func (a *API) webhookProject(c *call, act rbac.Action) (int64, error) {
	p, err := c.projectFor(permOn(rbac.ResourceWebhook, act))
	return p.ID, err
}

func (a *API) listWebhooks(c *call) error {
	pid, err := a.webhookProject(c, rbac.ActionList)
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	ps, total, err := listPage(c, pg, "", webhookSort(), func(p core.Page) ([]webhook.Policy, int, error) {
		return a.cfg.webhooks.List(c.ctx(), pid, p)
	})
	if err != nil {
		return err
	}
	out := make([]WebhookPolicy, 0, len(ps))
	for _, p := range ps {
		out = append(out, webhookJSON(p))
	}
	return c.paged(pg, total, out)
}

func (a *API) createWebhook(c *call) error {
	pid, err := a.webhookProject(c, rbac.ActionCreate)
	if err != nil {
		return err
	}
	req, err := decodeAs[WebhookPolicy](c)
	if err != nil {
		return err
	}
	p := req.toPolicy(pid, nil)
	p.Creator = c.p.Name
	created, err := a.cfg.webhooks.Create(c.ctx(), p)
	if err != nil {
		return err
	}
	loc := fmt.Sprintf("%s/projects/%d/webhook/policies/%d", BasePath, pid, created.ID)
	return c.created(loc, webhookJSON(created))
}

func (a *API) webhookPolicy(c *call, act rbac.Action) (webhook.Policy, error) {
	pid, err := a.webhookProject(c, act)
	if err != nil {
		return webhook.Policy{}, err
	}
	id, err := c.pathID("webhook_policy_id")
	if err != nil {
		return webhook.Policy{}, err
	}
	return a.cfg.webhooks.Get(c.ctx(), pid, id)
}

func (a *API) getWebhook(c *call) error {
	p, err := a.webhookPolicy(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, webhookJSON(p))
}

func (a *API) updateWebhook(c *call) error {
	cur, err := a.webhookPolicy(c, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	req, err := decodeAs[WebhookPolicy](c)
	if err != nil {
		return err
	}
	_, err = a.cfg.webhooks.Update(c.ctx(), cur.ProjectID, cur.ID, func(p *webhook.Policy) error {
		next := req.toPolicy(cur.ProjectID, p.Targets)
		next.ID, next.Creator, next.CreatedAt = p.ID, p.Creator, p.CreatedAt
		*p = next
		return nil
	})
	if err != nil {
		return err
	}
	return c.ok()
}

func (a *API) deleteWebhook(c *call) error {
	p, err := a.webhookPolicy(c, rbac.ActionDelete)
	if err != nil {
		return err
	}
	if err := a.cfg.webhooks.Delete(c.ctx(), p.ProjectID, p.ID); err != nil {
		return err
	}
	return c.ok()
}

func webhookExecutionJSON(d webhook.Delivery) WebhookExecution {
	status := map[webhook.DeliveryStatus]string{webhook.StatusPending: "Running", webhook.StatusSuccess: "Success",
		webhook.StatusFailed: "Error"}[d.Status]
	trigger := "EVENT"
	if d.Test {
		trigger = "MANUAL"
	}
	e := WebhookExecution{ID: d.ID, VendorType: "WEBHOOK", VendorID: d.PolicyID, Status: status, Trigger: trigger,
		StartTime: d.CreatedAt, ExtraAttrs: map[string]any{"event_type": string(d.EventType), "address": d.Address,
			"payload_format": string(orDefault(d.PayloadFormat, webhook.FormatDefault)), "attempts": d.Attempts,
			"http_status": d.HTTPStatus, "delivery_id": d.UUID}}
	if d.LastError != "" {
		e.ExtraAttrs["last_error"] = d.LastError
	}
	if d.Status != webhook.StatusPending {
		end := d.UpdatedAt
		e.EndTime = &end
	}
	return e
}

func (a *API) listWebhookExecutions(c *call) error {
	p, err := a.webhookPolicy(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	ds, total, err := listPage(c, pg, "", deliverySort(), func(pp core.Page) ([]webhook.Delivery, int, error) {
		return a.cfg.webhooks.Deliveries(c.ctx(), p.ProjectID, p.ID, pp)
	})
	if err != nil {
		return err
	}
	out := make([]WebhookExecution, 0, len(ds))
	for _, d := range ds {
		out = append(out, webhookExecutionJSON(d))
	}
	return c.paged(pg, total, out)
}

func (a *API) getWebhookExecution(c *call) error {
	p, err := a.webhookPolicy(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	id, err := c.pathID("execution_id")
	if err != nil {
		return err
	}
	d, err := a.cfg.webhooks.Delivery(c.ctx(), p.ProjectID, id)
	if err != nil {
		return err
	}
	if d.PolicyID != p.ID {
		return notFound("execution " + strconv.FormatInt(id, 10) + " is not one of this webhook's")
	}
	return c.json(http.StatusOK, webhookExecutionJSON(d))
}

func (a *API) testWebhook(c *call) error {
	p, err := a.webhookPolicy(c, rbac.ActionUpdate)
	if err != nil {
		return err
	}
	if err := a.cfg.webhooks.SendTest(c.ctx(), p.ProjectID, p.ID); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *API) webhookEvents(c *call) error {
	if _, err := a.webhookProject(c, rbac.ActionRead); err != nil {
		return err
	}
	out := WebhookEventTypes{NotifyType: []string{webhook.TargetHTTP},
		PayloadFormats: []WebhookPayloadFormat{{NotifyType: webhook.TargetHTTP,
			Formats: []string{string(webhook.FormatDefault), string(webhook.FormatCloudEvents)}}}}
	for _, t := range webhook.EventTypes() {
		out.EventType = append(out.EventType, string(t))
	}
	return c.json(http.StatusOK, out)
}

// webhookSort are the fields webhook policies sort by.
func webhookSort() map[string]sortField[webhook.Policy] {
	return map[string]sortField[webhook.Policy]{
		"id":            func(p *webhook.Policy) string { return sInt(p.ID) },
		"name":          func(p *webhook.Policy) string { return p.Name },
		"creation_time": func(p *webhook.Policy) string { return sTime(p.CreatedAt) },
		"update_time":   func(p *webhook.Policy) string { return sTime(p.UpdatedAt) },
	}
}

// deliverySort are the fields webhook executions and jobs sort by.
func deliverySort() map[string]sortField[webhook.Delivery] {
	return map[string]sortField[webhook.Delivery]{
		"id":            func(d *webhook.Delivery) string { return sInt(d.ID) },
		"status":        func(d *webhook.Delivery) string { return string(d.Status) },
		"creation_time": func(d *webhook.Delivery) string { return sTime(d.CreatedAt) },
		"start_time":    func(d *webhook.Delivery) string { return sTime(d.CreatedAt) },
		"update_time":   func(d *webhook.Delivery) string { return sTime(d.UpdatedAt) },
	}
}
