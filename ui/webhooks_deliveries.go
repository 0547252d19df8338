package ui

import (
	"fmt"
	"net/http"
	"time"
)

// webhookDelivery is one delivery of an event to the webhook's target,
// as the API's webhook executions show it.
type webhookDelivery struct {
	ID         int64          `json:"id"`
	Status     string         `json:"status"`
	Trigger    string         `json:"trigger"`
	ExtraAttrs map[string]any `json:"extra_attrs"`
	StartTime  time.Time      `json:"start_time"`
	EndTime    *time.Time     `json:"end_time"`
}

func (d webhookDelivery) attr(k string) string {
	v, ok := d.ExtraAttrs[k]
	if !ok || v == nil {
		return ""
	}
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprint(v)
}

// EventType, Address, Attempts, Error are the delivery's details.
func (d webhookDelivery) EventType() string { return d.attr("event_type") }
func (d webhookDelivery) Address() string   { return d.attr("address") }
func (d webhookDelivery) Attempts() string  { return d.attr("attempts") }
func (d webhookDelivery) Error() string     { return d.attr("last_error") }

// HTTPStatus is the receiver's last answer's status, or "—".
func (d webhookDelivery) HTTPStatus() string {
	if s := d.attr("http_status"); s != "" && s != "0" {
		return s
	}
	return "—"
}

// Started is when the delivery was queued.
func (d webhookDelivery) Started() string { return localTime(d.StartTime) }

// Badge is the status badge's class.
func (d webhookDelivery) Badge() string { return statusBadge(d.Status) }

// StatusKey is the catalog key of the delivery's status.
func (d webhookDelivery) StatusKey() string {
	switch d.Status {
	case "Success":
		return "hook.st_success"
	case "Error":
		return "hook.st_error"
	}
	return "hook.st_running"
}

// TriggerKey says whether an event or a test sent it.
func (d webhookDelivery) TriggerKey() string {
	if d.Trigger == "MANUAL" {
		return "hook.test"
	}
	return "hook.event"
}

// webhookDeliveriesPage lists the webhook's deliveries, newest first;
// pending ones refresh the page.
func (u *UI) webhookDeliveriesPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	h, ok := u.webhookOf(w, r, s, p)
	if !ok {
		return
	}
	l := storeOrder(r, parseList(r, "creation_time", "status"))
	v := webhooksView{Project: p, Policy: h, List: l}
	a, err := s.api.get(webhookPath(p, h.ID)+"/executions?"+l.apiParams().Encode(), &v.Delivery)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	u.render(w, r, 0, "webhook-deliveries", projectView(s, p, "webhooks", "hook.deliveries", v))
}

// Pending tells whether a delivery shown is still being tried.
func (v webhooksView) Pending() bool {
	for _, d := range v.Delivery {
		if d.Status == "Running" {
			return true
		}
	}
	return false
}
