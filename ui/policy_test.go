package ui_test

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiRetention is what the tests read back of a policy.
type apiRetention struct {
	Rules []struct {
		Disabled       bool
		Template       string
		Params         map[string]any
		TagSelectors   []struct{ Decoration, Pattern, Extras string }    `json:"tag_selectors"`
		ScopeSelectors map[string][]struct{ Decoration, Pattern string } `json:"scope_selectors"`
	}
	Trigger struct{ Settings map[string]any }
}

func retentionForm(template, param, tagPattern string) url.Values {
	return url.Values{"repo_decoration": {"repoMatches"}, "repo_pattern": {"**"}, "tag_decoration": {"matches"},
		"tag_pattern": {tagPattern}, "untagged": {"true"}, "template": {template}, "param": {param}}
}

// asUser is a second browser on the same server, signed in as user.
func (p *portal) asUser(t *testing.T, user, password string) *portal {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	q := &portal{URL: p.URL, Host: p.Host, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	q.login(t, user, password)
	return q
}

func TestRetentionPages(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	pid := p.createProject(t, "keep", false)
	p.pushImage(t, "keep/app", "old", 256)
	time.Sleep(10 * time.Millisecond)
	p.pushImage(t, "keep/app", "new", 256)
	pol := fmt.Sprintf("/projects/%d/policy", pid)

	body := text(p.page(t, pol))
	assert.Contains(t, body, "Tag Retention")
	assert.Contains(t, body, "This project has no retention policy. Adding the first rule creates it.")
	assert.NotContains(t, body, "DRY RUN", "nothing to run without a policy")
	assert.Contains(t, text(p.page(t, pol+"/retention/rules/new")), "For the repositories")

	// The first rule creates the policy.
	body = text(p.submit(t, pol+"/retention/rules", retentionForm("latestPushedK", "1", "**")))
	assert.Contains(t, body, "Retention rule saved.")
	assert.Contains(t, body, "retain the most recently pushed 1 artifacts")
	assert.Contains(t, body, "matching ** ; untagged artifacts included")
	var got apiRetention
	p.api(t, http.MethodGet, fmt.Sprint("/retentions/", pid), nil, &got)
	require.Len(t, got.Rules, 1)
	assert.Equal(t, "latestPushedK", got.Rules[0].Template)
	assert.EqualValues(t, 1, got.Rules[0].Params["latestPushedK"])
	assert.Equal(t, `{"untagged":true}`, got.Rules[0].TagSelectors[0].Extras)

	// Edit it: the form shows the rule; a bad number stays on the form,
	// and what the API refuses shows the API's reason.
	assert.Contains(t, p.page(t, pol+"/retention/rules/1"), `value="1"`)
	status, loc, _ := p.post(t, pol+"/retention/rules/1", retentionForm("latestPushedK", "many", "**"))
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, pol+"/retention/rules/1", loc)
	assert.Contains(t, text(p.page(t, loc)), "Enter a whole number for #.")
	_, loc, _ = p.post(t, pol+"/retention/rules/1", retentionForm("latestPushedK", "-1", "**"))
	assert.Contains(t, text(p.page(t, loc)), "less than zero")
	body = text(p.submit(t, pol+"/retention/rules/1", retentionForm("always", "", "v*")))
	assert.Contains(t, body, "retain always")
	p.api(t, http.MethodGet, fmt.Sprint("/retentions/", pid), nil, &got)
	require.Len(t, got.Rules, 1)
	assert.Equal(t, "always", got.Rules[0].Template)
	assert.Equal(t, "v*", got.Rules[0].TagSelectors[0].Pattern)
	status, _ = p.get(t, pol+"/retention/rules/9")
	assert.Equal(t, http.StatusNotFound, status)
	p.submit(t, pol+"/retention/rules/1", retentionForm("latestPushedK", "1", "**"))

	// The schedule.
	body = text(p.submit(t, pol+"/retention/schedule", url.Values{"schedule": {"daily"}}))
	assert.Contains(t, body, "Schedule saved.")
	assert.Contains(t, body, "Next scheduled run:")
	p.api(t, http.MethodGet, fmt.Sprint("/retentions/", pid), nil, &got)
	assert.Equal(t, "0 0 0 * * *", got.Trigger.Settings["cron"])
	_, loc, _ = p.post(t, pol+"/retention/schedule", url.Values{"schedule": {"custom"}, "cron": {"whenever"}})
	assert.Contains(t, text(p.page(t, loc)), "whenever", "the API's reason names the bad cron")
	p.submit(t, pol+"/retention/schedule", url.Values{"schedule": {"none"}})

	// A dry run: its execution in the history, its task and log.
	body = text(p.submit(t, pol+"/retention/run", url.Values{"dry_run": {"true"}}))
	assert.Contains(t, body, "The dry run has started: it deletes nothing.")
	var execs []struct {
		ID     int64
		Status string
		DryRun bool `json:"dry_run"`
	}
	require.Eventually(t, func() bool {
		p.api(t, http.MethodGet, fmt.Sprintf("/retentions/%d/executions", pid), nil, &execs)
		return len(execs) == 1 && execs[0].Status == "Success"
	}, 20*time.Second, 20*time.Millisecond)
	body = text(p.page(t, pol))
	assert.Contains(t, body, "Retention runs")
	assert.Regexp(t, fmt.Sprintf(`ID Status Dry run Trigger Start Time Duration Actions %d Success Yes Manual`, execs[0].ID), body)
	assert.Contains(t, body, "1 - 1 of 1 items")
	exec := fmt.Sprintf("%s/retention/executions/%d", pol, execs[0].ID)
	html := p.page(t, exec)
	assert.NotContains(t, html, "data-refresh", "an ended run does not refresh")
	body = text(html)
	assert.Contains(t, body, fmt.Sprintf("Run %d Success Dry run Manual", execs[0].ID))
	assert.Contains(t, body, "app Success 1 / 2")
	var tasks []struct{ ID int64 }
	p.api(t, http.MethodGet, fmt.Sprintf("/retentions/%d/executions/%d/tasks", pid, execs[0].ID), nil, &tasks)
	require.Len(t, tasks, 1)
	html = p.page(t, fmt.Sprintf("%s/tasks/%d", exec, tasks[0].ID))
	assert.Regexp(t, `(?s)<pre class="log"[^>]*>.*dry run.*</pre>`, html)
	var arts []struct{ Digest string }
	p.api(t, http.MethodGet, "/projects/keep/repositories/app/artifacts", nil, &arts)
	assert.Len(t, arts, 2, "a dry run deletes nothing")
	status, _ = p.get(t, pol+"/retention/executions/99999")
	assert.Equal(t, http.StatusNotFound, status)

	// A guest may see the project but not its retention policy: the
	// page says what the API says, and running is refused the same way.
	p.api(t, http.MethodPost, "/users", map[string]string{"username": "gina", "email": "gina@example.com",
		"realname": "Gina", "password": "Guest-Pass-1"}, nil)
	p.api(t, http.MethodPost, fmt.Sprintf("/projects/%d/members", pid), map[string]any{"role_id": 3,
		"member_user": map[string]string{"username": "gina"}}, nil)
	g := p.asUser(t, "gina", "Guest-Pass-1")
	body = text(g.page(t, pol))
	assert.NotContains(t, body, "DRY RUN")
	assert.Contains(t, body, "Tag Retention")
	assert.Contains(t, g.page(t, pol), `class="alert err"`)
	_, loc, _ = g.post(t, pol+"/retention/run", url.Values{"dry_run": {"true"}})
	assert.Contains(t, g.page(t, loc), `class="alert err"`)
	p.api(t, http.MethodGet, fmt.Sprintf("/retentions/%d/executions", pid), nil, &execs)
	assert.Len(t, execs, 1, "the guest started nothing")

	// Disable, then delete the rule.
	p.submit(t, pol+"/retention/rules/1/toggle", url.Values{"disabled": {"true"}})
	p.api(t, http.MethodGet, fmt.Sprint("/retentions/", pid), nil, &got)
	require.Len(t, got.Rules, 1)
	assert.True(t, got.Rules[0].Disabled)
	assert.Contains(t, text(p.page(t, pol)), "Disabled")
	body = text(p.submit(t, pol+"/retention/rules/1/delete", nil))
	assert.Contains(t, body, "Retention rule deleted.")
	p.api(t, http.MethodGet, fmt.Sprint("/retentions/", pid), nil, &got)
	assert.Empty(t, got.Rules)

	// Chinese.
	resp, err := p.client.Get(p.URL + "/language?lang=zh-CN&next=/projects")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, text(p.page(t, pol)), "Tag保留")
}

func TestImmutabilityPages(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	pid := p.createProject(t, "frozen", false)
	pol := fmt.Sprintf("/projects/%d/policy", pid)
	type rule struct {
		ID             int64
		Disabled       bool
		TagSelectors   []struct{ Decoration, Pattern string }            `json:"tag_selectors"`
		ScopeSelectors map[string][]struct{ Decoration, Pattern string } `json:"scope_selectors"`
	}
	rules := func() []rule {
		var out []rule
		p.api(t, http.MethodGet, fmt.Sprintf("/projects/%d/immutabletagrules", pid), nil, &out)
		return out
	}

	body := text(p.page(t, pol+"?view=immutability"))
	assert.Contains(t, body, "Tag Immutability")
	assert.Contains(t, body, "No rules: every tag may be overwritten or deleted.")
	form := url.Values{"repo_decoration": {"repoMatches"}, "repo_pattern": {"**"}, "tag_decoration": {"matches"}, "tag_pattern": {"v1"}}
	body = text(p.submit(t, pol+"/immutability/rules", form))
	assert.Contains(t, body, "Immutability rule saved.")
	assert.Contains(t, body, "Enabled matching ** matching v1")
	got := rules()
	require.Len(t, got, 1)
	assert.Equal(t, "v1", got[0].TagSelectors[0].Pattern)
	assert.Equal(t, "repoMatches", got[0].ScopeSelectors["repository"][0].Decoration)
	one := fmt.Sprintf("%s/immutability/rules/%d", pol, got[0].ID)

	// The same rule twice: the API's conflict, on the form.
	status, loc, _ := p.post(t, pol+"/immutability/rules", form)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, pol+"/immutability/rules/new", loc)
	assert.Contains(t, p.page(t, loc), `class="alert err"`)
	assert.Len(t, rules(), 1)

	// An immutable tag cannot be overwritten.
	p.pushImage(t, "frozen/app", "v1", 128)
	img, err := random.Image(128, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(p.Host+"/frozen/app:v1", name.Insecure)
	require.NoError(t, err)
	err = remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword}), remote.WithContext(t.Context()))
	assert.Error(t, err, "v1 is immutable")

	// Edit, disable, enable, delete.
	assert.Contains(t, p.page(t, one), `value="v1"`)
	form.Set("tag_pattern", "v2")
	form.Set("repo_decoration", "repoExcludes")
	p.submit(t, one, form)
	got = rules()
	require.Len(t, got, 1)
	assert.Equal(t, "v2", got[0].TagSelectors[0].Pattern)
	assert.Equal(t, "repoExcludes", got[0].ScopeSelectors["repository"][0].Decoration)
	body = text(p.submit(t, one+"/toggle", url.Values{"disabled": {"true"}}))
	assert.Contains(t, body, "Immutability rule disabled.")
	assert.True(t, rules()[0].Disabled)
	assert.Equal(t, "v2", rules()[0].TagSelectors[0].Pattern, "disabling keeps the selectors")
	p.submit(t, one+"/toggle", url.Values{"disabled": {"false"}})
	assert.False(t, rules()[0].Disabled)
	body = text(p.submit(t, one+"/delete", nil))
	assert.Contains(t, body, "Immutability rule deleted.")
	assert.Empty(t, rules())
	status, _ = p.get(t, one)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = p.get(t, pol+"/immutability/rules/x")
	assert.Equal(t, http.StatusNotFound, status)

	// A developer may not read the rules: the section shows the API's refusal.
	p.api(t, http.MethodPost, "/users", map[string]string{"username": "dev", "email": "dev@example.com",
		"realname": "Dev", "password": "Dev-Pass-1"}, nil)
	p.api(t, http.MethodPost, fmt.Sprintf("/projects/%d/members", pid), map[string]any{"role_id": 2,
		"member_user": map[string]string{"username": "dev"}}, nil)
	d := p.asUser(t, "dev", "Dev-Pass-1")
	assert.Contains(t, d.page(t, pol+"?view=immutability"), `class="alert err"`)
	form.Del("csrf_token") // the admin's
	status, loc, _ = d.post(t, pol+"/immutability/rules", form)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, d.page(t, loc), `class="alert err"`)
	assert.Empty(t, rules())
	// A private project the user is not in is refused, as the API refuses it.
	other := p.createProject(t, "secret", false)
	status, _ = d.get(t, fmt.Sprintf("/projects/%d/policy", other))
	assert.Equal(t, http.StatusForbidden, status)
}
