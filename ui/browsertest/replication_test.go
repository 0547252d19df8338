package browsertest

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/portaltest"
)

// An administrator writes a push replication rule to another berth in
// the form, runs it from the list, follows its execution to the end and
// reads a task's log; the image is then on the other site.
func TestReplicationRuleRunAndLog(t *testing.T) {
	src, dst := portaltest.Start(t), portaltest.Start(t)
	src.CreateProject(t, "shop", false)
	dst.CreateProject(t, "shop", false)
	digest := src.PushImage(t, "shop/app", "v1", 512)
	src.API(t, http.MethodPost, "/registries", map[string]any{"name": "mirror", "url": dst.URL, "type": "harbor",
		"credential": map[string]string{"type": "basic", "access_key": "admin", "access_secret": portaltest.AdminPassword}}, nil)
	var regs []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	src.API(t, http.MethodGet, "/registries", nil, &regs)
	require.Len(t, regs, 1)

	b := newBrowser(t, src.URL)
	b.login("admin", portaltest.AdminPassword)
	b.visit("/admin/replications")
	assert.Contains(t, b.main(), "No replication rules.")
	b.click(`main a[href$="/admin/replications/new"]`)
	assert.Contains(t, b.main(), "mirror ("+dst.URL+")", "the registry is offered")
	b.axe()

	b.fill("#pname", "to-mirror")
	b.press("#mpush")
	b.choose("#preg", strconv.FormatInt(regs[0].ID, 10))
	b.fill("#fname", "shop/**")
	b.choose("#ptrigger", "manual")
	if !eval[bool](b, `document.querySelector("#pen").checked`) {
		b.press("#pen")
	}
	b.click(`main form button[type=submit]`)
	page := b.main()
	assert.Contains(t, page, "Rule saved.")
	row := b.row("main table", "to-mirror")
	assert.Regexp(t, `to-mirror Enabled this registry → mirror Manual Never run`, row)
	var rules []struct {
		ID      int64                          `json:"id"`
		Filters []struct{ Type, Value string } `json:"filters"`
		Enabled bool                           `json:"enabled"`
		Trigger struct{ Type string }          `json:"trigger"`
	}
	src.API(t, http.MethodGet, "/replication/policies", nil, &rules)
	require.Len(t, rules, 1)
	assert.True(t, rules[0].Enabled)
	assert.Equal(t, "manual", rules[0].Trigger.Type)
	require.Len(t, rules[0].Filters, 1)
	assert.Equal(t, "shop/**", rules[0].Filters[0].Value)
	b.axe()

	// Run it from the list (its confirmation accepted): the rule's
	// executions, until the execution has ended.
	b.click(`button[aria-label="Replicate to-mirror"]`)
	assert.Equal(t, "/admin/replications/"+strconv.FormatInt(rules[0].ID, 10)+"/executions", b.location())
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.text("main table tbody tr"), "Succeeded") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		b.visit(b.location())
	}
	row = b.text("main table tbody tr")
	require.Contains(t, row, "Succeeded")
	assert.Contains(t, row, "Manual")
	assert.Contains(t, row, "1 total, 1 succeeded, 0 failed")
	b.axe()

	// The execution: its task copied the repository.
	b.click(`main table tbody a[href*="/executions/"]`)
	assert.Regexp(t, `^/admin/replications/\d+/executions/\d+$`, b.location())
	task := b.text("main table tbody tr")
	assert.Contains(t, task, "shop/app:v1")
	assert.Contains(t, task, "Succeeded")
	b.axe()

	// The task's log names what it copied.
	b.click(`main table tbody a[href$="/log"]`)
	assert.Regexp(t, `/tasks/\d+/log$`, b.location())
	log := b.text("pre.log")
	assert.NotEmpty(t, log)
	assert.NotContains(t, log, "The log is empty")
	assert.Regexp(t, regexp.MustCompile(`shop/app|`+regexp.QuoteMeta(digest)), log)
	b.axe()

	// The image is on the other site.
	var got struct {
		Digest string `json:"digest"`
	}
	dst.API(t, http.MethodGet, "/projects/shop/repositories/app/artifacts/v1", nil, &got)
	assert.Equal(t, digest, got.Digest)
}
