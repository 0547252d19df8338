package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// webhookPolicy is a project's webhook as the API shows it (an auth
// header comes back masked; sent back masked, it is kept).
type webhookPolicy struct {
	ID           int64           `json:"id"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Targets      []webhookTarget `json:"targets"`
	EventTypes   []string        `json:"event_types"`
	Creator      string          `json:"creator"`
	CreationTime string          `json:"creation_time,omitempty"`
	Enabled      bool            `json:"enabled"`
	Secret       string          `json:"secret,omitempty"`
}

type webhookTarget struct {
	Type           string `json:"type"`
	Address        string `json:"address"`
	AuthHeader     string `json:"auth_header,omitempty"`
	SkipCertVerify bool   `json:"skip_cert_verify"`
	PayloadFormat  string `json:"payload_format,omitempty"`
}

// Target is the webhook's (first) target: berth's form edits one.
func (p webhookPolicy) Target() webhookTarget {
	if len(p.Targets) == 0 {
		return webhookTarget{Type: "http"}
	}
	return p.Targets[0]
}

// Subscribed tells whether the webhook listens to event type t.
func (p webhookPolicy) Subscribed(t string) bool { return contains(p.EventTypes, t) }

// webhookEvents is what the project's webhooks may subscribe to.
type webhookEvents struct {
	EventType      []string `json:"event_type"`
	PayloadFormats []struct {
		NotifyType string   `json:"notify_type"`
		Formats    []string `json:"formats"`
	} `json:"payload_formats"`
}

// Formats are the payload formats of http targets.
func (e webhookEvents) Formats() []string {
	for _, f := range e.PayloadFormats {
		if f.NotifyType == "http" {
			return f.Formats
		}
	}
	return nil
}

type webhooksView struct {
	Project  *project
	List     *listQuery
	Policies []webhookPolicy
	Policy   *webhookPolicy // the form's webhook, or the deliveries'
	Events   webhookEvents
	Secret   string // a new webhook's signing secret, shown once
	Delivery []webhookDelivery
}

func (u *UI) webhooksPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	u.renderWebhooks(w, r, s, p, "")
}

// renderWebhooks shows the list; secret, when set, is a webhook just
// created, whose signing secret is shown this once.
func (u *UI) renderWebhooks(w http.ResponseWriter, r *http.Request, s *session, p *project, secret string) {
	l := storeOrder(r, parseList(r, "name", "creation_time", "update_time"))
	v := webhooksView{Project: p, List: l, Secret: secret}
	a, err := s.api.get("/projects/"+itoa(p.ProjectID)+"/webhook/policies?"+l.apiParams().Encode(), &v.Policies)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	vw := projectView(s, p, "webhooks", "hook.title", v)
	if secret != "" {
		vw.Flash = "hook.created"
	}
	u.render(w, r, 0, "webhooks", vw)
}

// webhookForm shows the form of a new webhook (no {wid}) or of {wid}.
func (u *UI) webhookForm(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	h := &webhookPolicy{Enabled: true}
	if r.PathValue("wid") != "" {
		if h, ok = u.webhookOf(w, r, s, p); !ok {
			return
		}
	}
	u.renderWebhookForm(w, r, s, p, h, nil)
}

// renderWebhookForm shows the form holding h; err, when set, is why
// saving it failed (the form keeps what was typed).
func (u *UI) renderWebhookForm(w http.ResponseWriter, r *http.Request, s *session, p *project, h *webhookPolicy, err error) {
	v := webhooksView{Project: p, Policy: h}
	title := "hook.new"
	if h.ID != 0 {
		title = "hook.edit"
	}
	if _, err := s.api.get("/projects/"+itoa(p.ProjectID)+"/webhook/events", &v.Events); err != nil {
		u.failed(w, r, s, err)
		return
	}
	vw, status := projectView(s, p, "webhooks", title, v), 0
	if err != nil {
		vw.Error, status = err.Error(), formStatus(err)
	}
	u.render(w, r, status, "webhook", vw)
}

// webhookOf reads the project's webhook {wid}; on failure it has answered.
func (u *UI) webhookOf(w http.ResponseWriter, r *http.Request, s *session, p *project) (*webhookPolicy, bool) {
	id, err := strconv.ParseInt(r.PathValue("wid"), 10, 64)
	if err != nil || id <= 0 {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
		return nil, false
	}
	var h webhookPolicy
	if _, err := s.api.get(webhookPath(p, id), &h); err != nil {
		u.failed(w, r, s, err)
		return nil, false
	}
	return &h, true
}

func webhookPath(p *project, id int64) string {
	return "/projects/" + itoa(p.ProjectID) + "/webhook/policies/" + itoa(id)
}

// webhookBody is the API's webhook for the form.
func webhookBody(f url.Values) webhookPolicy {
	return webhookPolicy{Name: strings.TrimSpace(f.Get("name")), Description: f.Get("description"),
		Enabled: f.Get("enabled") == "true", EventTypes: append([]string{}, f["event_type"]...),
		Targets: []webhookTarget{{Type: "http", Address: strings.TrimSpace(f.Get("address")), AuthHeader: f.Get("auth_header"),
			SkipCertVerify: f.Get("skip_cert_verify") == "true", PayloadFormat: f.Get("payload_format")}}}
}

// saveWebhook creates a webhook (no {wid}), showing its signing secret
// once, or replaces {wid}.
func (u *UI) saveWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	base := "/projects/" + itoa(p.ProjectID) + "/webhooks"
	body := webhookBody(r.PostForm)
	if r.PathValue("wid") == "" {
		var created webhookPolicy
		if _, err := s.api.send(http.MethodPost, "/projects/"+itoa(p.ProjectID)+"/webhook/policies", body, &created); err != nil {
			u.renderWebhookForm(w, r, s, p, &body, err)
			return
		}
		// Not a redirect: the secret is answered once and must not travel
		// in a cookie.
		u.renderWebhooks(w, r, s, p, created.Secret)
		return
	}
	h, ok := u.webhookOf(w, r, s, p)
	if !ok {
		return
	}
	// The form edits the first target; others (set through the API) stay,
	// their masked auth headers kept by position.
	if len(h.Targets) > 1 {
		body.Targets = append(body.Targets, h.Targets[1:]...)
	}
	if _, err := s.api.send(http.MethodPut, webhookPath(p, h.ID), body, nil); err != nil {
		body.ID = h.ID
		u.renderWebhookForm(w, r, s, p, &body, err)
		return
	}
	u.redirect(w, r, base, "hook.saved", nil)
}

// webhookAction does one thing to {wid}: enable or disable it, send a
// test event, or delete it.
func (u *UI) webhookAction(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	base := "/projects/" + itoa(p.ProjectID) + "/webhooks"
	h, ok := u.webhookOf(w, r, s, p)
	if !ok {
		return
	}
	var err error
	flash, target := "", base
	switch r.PathValue("action") {
	case "toggle":
		// The whole webhook goes back, its masked auth header kept.
		h.Enabled, h.Secret = !h.Enabled, ""
		_, err = s.api.send(http.MethodPut, webhookPath(p, h.ID), h, nil)
		flash = map[bool]string{true: "hook.enabledok", false: "hook.disabledok"}[h.Enabled]
	case "test":
		_, err = s.api.send(http.MethodPost, webhookPath(p, h.ID)+"/test", nil, nil)
		flash, target = "hook.testsent", base+"/"+itoa(h.ID)+"/deliveries"
	case "delete":
		_, err = s.api.send(http.MethodDelete, webhookPath(p, h.ID), nil, nil)
		flash = "hook.deleted"
	default:
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
		return
	}
	if err != nil {
		target = base
	}
	u.redirect(w, r, target, flash, err)
}
