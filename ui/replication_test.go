package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type execution struct {
	ID       int64  `json:"id"`
	PolicyID int64  `json:"policy_id"`
	Status   string `json:"status"`
}

// latestExecution waits until the policy's newest execution has ended.
func latestExecution(t *testing.T, p *portal, policyID int64) execution {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var es []execution
		p.api(t, http.MethodGet, fmt.Sprintf("/replication/executions?policy_id=%d", policyID), nil, &es)
		if len(es) > 0 && es[0].Status != "InProgress" && es[0].Status != "Pending" {
			return es[0]
		}
		require.True(t, time.Now().Before(deadline), "the execution did not end: %+v", es)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReplicationPushToAnotherBerth(t *testing.T) {
	a, b := startPortal(t), startPortal(t)
	a.createProject(t, "src", false)
	b.createProject(t, "src", false)
	digest := a.pushImage(t, "src/app", "v1", 512)
	a.pushImage(t, "src/app", "dev", 256)
	a.api(t, http.MethodPost, "/registries", map[string]any{"name": "b", "url": b.URL, "type": "harbor",
		"credential": map[string]string{"type": "basic", "access_key": "admin", "access_secret": adminPassword}}, nil)
	regID := registryID(t, a, "b")
	a.login(t, "admin", adminPassword)

	body := text(a.page(t, "/admin/replications"))
	assert.Contains(t, body, "No replication rules.")
	form := a.page(t, "/admin/replications/new")
	assert.Contains(t, text(form), "b ("+b.URL+")", "the registry is offered")

	// A rule the API refuses: its message, on the form as it was typed.
	status, _, page := a.post(t, "/admin/replications", url.Values{"name": {"bad"}, "mode": {"pull"},
		"registry_id": {strconv.FormatInt(regID, 10)}, "trigger": {"scheduled"}, "cron": {"not a cron"}, "filter_tag": {"v*"}})
	require.Equal(t, http.StatusBadRequest, status)
	assert.Regexp(t, `(?i)cron`, text(page))
	assert.Contains(t, page, `value="not a cron"`)
	assert.Contains(t, page, `value="v*"`)
	assert.Regexp(t, `id="mpull" name="mode" value="pull" checked`, page)
	assert.Regexp(t, `<option value="scheduled" selected>`, page)
	status, _, page = a.post(t, "/admin/replications", url.Values{"name": {"noreg"}, "mode": {"push"}, "trigger": {"manual"}})
	require.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, text(page), "Choose a registry")
	assert.Contains(t, page, `value="noreg"`)

	body = text(a.submit(t, "/admin/replications", url.Values{"name": {"to-b"}, "description": {"push v tags"},
		"mode": {"push"}, "registry_id": {strconv.FormatInt(regID, 10)}, "filter_name": {"src/**"}, "filter_tag": {"v*"},
		"dest_namespace": {""}, "flatten": {"0"}, "trigger": {"manual"}, "speed": {"-1"}, "override": {"true"}, "enabled": {"true"}}))
	assert.Contains(t, body, "Rule saved.")
	assert.Regexp(t, `to-b Enabled this registry → b Manual Never run`, body)
	var rules []struct {
		ID           int64 `json:"id"`
		DestRegistry *struct {
			ID int64 `json:"id"`
		} `json:"dest_registry"`
		Filters []struct{ Type, Value string } `json:"filters"`
		Enabled bool                           `json:"enabled"`
	}
	a.api(t, http.MethodGet, "/replication/policies", nil, &rules)
	require.Len(t, rules, 1)
	rule := rules[0]
	assert.Equal(t, regID, rule.DestRegistry.ID)
	assert.Len(t, rule.Filters, 2)
	ruleID := strconv.FormatInt(rule.ID, 10)

	// The edit form shows the rule as stored.
	edit := a.page(t, "/admin/replications/"+ruleID)
	assert.Contains(t, edit, `value="src/**"`)
	assert.Regexp(t, `id="mpush" name="mode" value="push" checked`, edit)

	// Run it: the executions page, then the execution's tasks and a log.
	status, loc, _ := a.post(t, "/admin/replications/"+ruleID+"/run", nil)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/admin/replications/"+ruleID+"/executions", loc)
	e := latestExecution(t, a, rule.ID)
	require.Equal(t, "Succeed", e.Status)
	body = text(a.page(t, loc))
	assert.Contains(t, body, "Succeeded")
	assert.Contains(t, body, "1 total, 1 succeeded, 0 failed")

	var got struct {
		Digest string `json:"digest"`
	}
	b.api(t, http.MethodGet, "/projects/src/repositories/app/artifacts/v1", nil, &got)
	assert.Equal(t, digest, got.Digest, "the image is at the destination")

	execPath := fmt.Sprintf("/admin/replications/%s/executions/%d", ruleID, e.ID)
	tasks := a.page(t, execPath)
	assert.Contains(t, text(tasks), "src/app:v1")
	assert.NotContains(t, tasks, "data-refresh", "an ended execution does not refresh")
	logLink := regexp.MustCompile(`href="(` + regexp.QuoteMeta(execPath) + `/tasks/\d+/log)"`).FindStringSubmatch(tasks)
	require.NotNil(t, logLink)
	logPage := a.page(t, logLink[1])
	assert.Regexp(t, `<pre class="log"[^>]*>[^<]*\S`, logPage, "the log shows text")

	// The list shows the last execution.
	assert.Contains(t, text(a.page(t, "/admin/replications")), "to-b Enabled this registry → b Manual Succeeded")

	// An execution of another rule, and a task of another execution, are
	// not found; a status filter runs on the server.
	status, _ = a.get(t, fmt.Sprintf("/admin/replications/9999/executions/%d", e.ID))
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, text(a.page(t, "/admin/replications/"+ruleID+"/executions?status=Failed")), "No executions.")

	// An ended execution offers no STOP.
	assert.NotContains(t, tasks, execPath+"/stop")

	// Edit: disable it, pull instead.
	body = text(a.submit(t, "/admin/replications/"+ruleID, url.Values{"name": {"from-b"}, "mode": {"pull"},
		"registry_id": {strconv.FormatInt(regID, 10)}, "filter_name": {"src/app"}, "trigger": {"manual"}, "flatten": {"0"}}))
	assert.Contains(t, body, "from-b Disabled b → this registry")

	// Delete.
	body = text(a.submit(t, "/admin/replications/"+ruleID+"/delete", nil))
	assert.Contains(t, body, "Rule deleted.")
	assert.Contains(t, body, "No replication rules.")
	status, _ = a.get(t, "/admin/replications/"+ruleID)
	assert.Equal(t, http.StatusNotFound, status)
}

// A running execution refreshes its pages and offers STOP, which stops it.
func TestReplicationStop(t *testing.T) {
	a := startPortal(t)
	a.createProject(t, "src", false)
	a.pushImage(t, "src/app", "v1", 256)
	// A registry nobody answers at: the execution stays in progress while
	// its task retries.
	a.api(t, http.MethodPost, "/registries", map[string]any{"name": "gone", "url": "http://127.0.0.1:1", "type": "docker-registry"}, nil)
	regID := registryID(t, a, "gone")
	a.api(t, http.MethodPost, "/replication/policies", map[string]any{"name": "r", "enabled": true,
		"dest_registry": map[string]int64{"id": regID}, "trigger": map[string]string{"type": "manual"}}, nil)
	var rules []struct {
		ID int64 `json:"id"`
	}
	a.api(t, http.MethodGet, "/replication/policies", nil, &rules)
	require.Len(t, rules, 1)
	a.login(t, "admin", adminPassword)
	ruleID := strconv.FormatInt(rules[0].ID, 10)
	a.submit(t, "/admin/replications/"+ruleID+"/run", nil)
	var es []execution
	a.api(t, http.MethodGet, "/replication/executions?policy_id="+ruleID, nil, &es)
	require.NotEmpty(t, es)
	if es[0].Status != "InProgress" {
		t.Skipf("the execution ended before it could be stopped: %s", es[0].Status)
	}
	page := a.page(t, "/admin/replications/"+ruleID+"/executions")
	assert.Contains(t, page, `data-refresh="3"`)
	assert.Contains(t, text(page), "In Progress")
	body := text(a.submit(t, fmt.Sprintf("/admin/replications/%s/executions/%d/stop", ruleID, es[0].ID), nil))
	assert.Contains(t, body, "Stopping the execution.")
	e := latestExecution(t, a, rules[0].ID)
	assert.Contains(t, []string{"Stopped", "Failed"}, e.Status)
}
