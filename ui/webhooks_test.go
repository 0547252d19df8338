package ui_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// receiver is a webhook receiver recording what it is sent.
type receiver struct {
	mu   sync.Mutex
	auth []string
	body []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.auth = append(rc.auth, r.Header.Get("Authorization"))
	rc.body = append(rc.body, string(b))
	rc.mu.Unlock()
}

func (rc *receiver) got() (auth, body []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string{}, rc.auth...), append([]string{}, rc.body...)
}

type hookPolicy struct {
	ID      int64 `json:"id"`
	Enabled bool  `json:"enabled"`
	Targets []struct {
		Address       string `json:"address"`
		AuthHeader    string `json:"auth_header"`
		PayloadFormat string `json:"payload_format"`
	} `json:"targets"`
	EventTypes []string `json:"event_types"`
}

func TestWebhooks(t *testing.T) {
	rc := &receiver{}
	hs := httptest.NewServer(rc)
	t.Cleanup(hs.Close)
	p := startPortal(t)
	pid := p.createProject(t, "team", false)
	base := fmt.Sprintf("/projects/%d/webhooks", pid)
	p.login(t, "admin", adminPassword)

	assert.Contains(t, text(p.page(t, base)), "No webhooks.")
	form := p.page(t, base+"/new")
	assert.Contains(t, form, `value="PUSH_ARTIFACT"`)
	assert.Contains(t, form, "CloudEvents")

	// What the API refuses comes back with its message.
	status, _, page := p.post(t, base, url.Values{"name": {"none"}, "address": {hs.URL}, "enabled": {"true"}})
	require.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, text(page), "subscribes to no event type")
	assert.Contains(t, page, `value="`+hs.URL+`"`, "the form keeps what was typed")

	// Created: the signing secret is shown this once.
	status, _, page = p.post(t, base, url.Values{"name": {"ci"}, "address": {hs.URL}, "auth_header": {"Bearer s3cret"},
		"payload_format": {"Default"}, "event_type": {"PUSH_ARTIFACT", "DELETE_ARTIFACT"}, "enabled": {"true"}})
	require.Equal(t, http.StatusOK, status)
	body := text(page)
	assert.Contains(t, body, "Webhook added.")
	assert.Contains(t, body, "shown only this once")
	assert.Regexp(t, `id="hooksecret" readonly value="[^"]{16,}"`, page)
	assert.Contains(t, body, "ci Enabled "+hs.URL+" PUSH_ARTIFACT, DELETE_ARTIFACT admin")
	var hooks []hookPolicy
	p.api(t, http.MethodGet, fmt.Sprintf("/projects/%d/webhook/policies", pid), nil, &hooks)
	require.Len(t, hooks, 1)
	hook := hooks[0]
	hookPath := fmt.Sprintf("%s/%d", base, hook.ID)
	assert.NotContains(t, text(p.page(t, base)), "shown only this once", "the secret is never shown again")

	// SEND TEST: the receiver gets it, with the auth header; the delivery
	// log shows it.
	body = text(p.submit(t, hookPath+"/test", nil))
	assert.Contains(t, body, "A test event is on its way.")
	require.Eventually(t, func() bool { a, _ := rc.got(); return len(a) > 0 }, 30*time.Second, 50*time.Millisecond)
	auth, _ := rc.got()
	assert.Equal(t, "Bearer s3cret", auth[0])
	var log string
	require.Eventually(t, func() bool {
		log = text(p.page(t, hookPath+"/deliveries"))
		return strings.Contains(log, "Success")
	}, 30*time.Second, 100*time.Millisecond, "the delivery log shows the delivery")
	assert.Regexp(t, `Success \S+ Test \d{4}-\d\d-\d\d [0-9:]+ UTC 1 200`, log)
	assert.Contains(t, log, "1 - 1 of 1 items")

	// Edit: the masked auth header is kept when left as it is.
	edit := p.page(t, hookPath)
	assert.Contains(t, edit, `value="********"`)
	assert.NotContains(t, edit, "s3cret")
	assert.Regexp(t, `value="DELETE_ARTIFACT" checked`, edit)
	status, _, page = p.post(t, hookPath, url.Values{"name": {"ci2"}, "address": {hs.URL}, "enabled": {"true"}})
	require.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, text(page), "subscribes to no event type")
	assert.Contains(t, page, `action="`+hookPath+`"`, "still the edit form")
	body = text(p.submit(t, hookPath, url.Values{"name": {"ci2"}, "address": {hs.URL}, "auth_header": {"********"},
		"payload_format": {"CloudEvents"}, "event_type": {"PULL_ARTIFACT"}, "enabled": {"true"}}))
	assert.Contains(t, body, "Webhook saved.")
	var got hookPolicy
	p.api(t, http.MethodGet, fmt.Sprintf("/projects/%d/webhook/policies/%d", pid, hook.ID), nil, &got)
	assert.Equal(t, []string{"PULL_ARTIFACT"}, got.EventTypes)
	assert.Equal(t, "CloudEvents", got.Targets[0].PayloadFormat)
	p.submit(t, hookPath+"/test", nil)
	require.Eventually(t, func() bool { a, _ := rc.got(); return len(a) > 1 }, 30*time.Second, 50*time.Millisecond)
	auth, _ = rc.got()
	assert.Equal(t, "Bearer s3cret", auth[1], "the auth header was kept")

	// Disable, enable.
	body = text(p.submit(t, hookPath+"/toggle", nil))
	assert.Contains(t, body, "Webhook disabled.")
	assert.Contains(t, body, "ci2 Disabled")
	p.api(t, http.MethodGet, fmt.Sprintf("/projects/%d/webhook/policies/%d", pid, hook.ID), nil, &got)
	assert.False(t, got.Enabled)
	assert.Contains(t, text(p.submit(t, hookPath+"/toggle", nil)), "Webhook enabled.")

	// Bad ids are not found; an unknown action too.
	for _, path := range []string{base + "/9999", base + "/x", base + "/9999/deliveries", "/projects/9999/webhooks"} {
		status, _ := p.get(t, path)
		assert.Equal(t, http.StatusNotFound, status, path)
	}
	status, _, _ = p.post(t, hookPath+"/explode", nil)
	assert.Equal(t, http.StatusNotFound, status)

	// Delete.
	body = text(p.submit(t, hookPath+"/delete", nil))
	assert.Contains(t, body, "Webhook deleted.")
	assert.Contains(t, body, "No webhooks.")
}

// A user outside a private project sees what the API says of it; a
// guest may not list its webhooks, and reads why.
func TestWebhooksOfOthers(t *testing.T) {
	p := startPortal(t)
	pid := p.createProject(t, "secret", false)
	p.api(t, http.MethodPost, "/users", map[string]any{"username": "guest", "email": "guest@example.com",
		"realname": "Guest", "password": "Guest-Password-1"}, nil)
	p.login(t, "guest", "Guest-Password-1")
	status, _ := p.get(t, fmt.Sprintf("/projects/%d/webhooks", pid))
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status)

	p.api(t, http.MethodPost, fmt.Sprintf("/projects/%d/members", pid), map[string]any{"role_id": 3,
		"member_user": map[string]string{"username": "guest"}}, nil)
	status, body := p.get(t, fmt.Sprintf("/projects/%d/webhooks", pid))
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, text(body), "cannot list webhook")
}

// The delivery log is paged by the API, newest first.
func TestWebhookDeliveriesArePaged(t *testing.T) {
	hs := httptest.NewServer(&receiver{})
	t.Cleanup(hs.Close)
	p := startPortal(t)
	pid := p.createProject(t, "team", false)
	var created hookPolicy
	p.api(t, http.MethodPost, fmt.Sprintf("/projects/%d/webhook/policies", pid), map[string]any{"name": "h", "enabled": true,
		"event_types": []string{"PUSH_ARTIFACT"}, "targets": []map[string]any{{"type": "http", "address": hs.URL}}}, &created)
	for range 16 {
		p.api(t, http.MethodPost, fmt.Sprintf("/projects/%d/webhook/policies/%d/test", pid, created.ID), nil, nil)
	}
	p.login(t, "admin", adminPassword)
	path := fmt.Sprintf("/projects/%d/webhooks/%d/deliveries", pid, created.ID)
	first := p.page(t, path)
	assert.Contains(t, text(first), "1 - 15 of 16 items")
	assert.Regexp(t, `<td>16</td>`, first, "newest first")
	second := text(p.page(t, path+"?page=2&page_size=15"))
	assert.Contains(t, second, "16 - 16 of 16 items")
	assert.Regexp(t, `Delivery Log ID Status .* 1 (Success|Running|Error) `, second)
}
