package browsertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/portaltest"
)

// portalPage is one page of the portal to check: its path, a text it
// must show in main whatever the language (seeded data, in the text or
// in a field's value; "css:sel" for an element it must have instead),
// and the name of its screenshot ("" for none; taken in English).
type portalPage struct {
	path, shows, shot string
}

// seeded is what seedSite made, by the ids the pages need.
type seeded struct {
	pid                  int64
	digest, index        string
	retentionExec        int64
	retentionTask        int64
	ruleID, replExec     int64
	replTask             int64
	registryID, gcID     int64
	hookID, immutableID  int64
	projectLabel, global string
}

// poll calls done until it is true, failing t after a deadline.
func poll(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !done() {
		require.True(t, time.Now().Before(deadline), "%s did not finish", what)
		time.Sleep(100 * time.Millisecond)
	}
}

// idOf reads the id of the first JSON object of a list at path.
func idOf(t *testing.T, site *portaltest.Site, path string) int64 {
	t.Helper()
	var list []struct {
		ID int64 `json:"id"`
	}
	site.API(t, http.MethodGet, path, nil, &list)
	require.NotEmpty(t, list, "GET %s", path)
	return list[0].ID
}

// seedSite gives a site something to show on every page: project shop
// with a member, a robot, labels, a scanned image and an image index, a
// retention rule that ran, an immutability rule, a webhook that
// delivered, a registry (another site) with a replication rule that ran,
// a user group, a system robot and a garbage collection run.
func seedSite(t *testing.T, site *portaltest.Site) seeded {
	t.Helper()
	var s seeded
	s.pid = site.CreateProject(t, "shop", false)
	pid := fmt.Sprint(s.pid)
	site.API(t, http.MethodPost, "/users", map[string]string{"username": "dev", "email": "dev@example.com",
		"realname": "Dev Eloper", "password": "Dev-Passw0rd"}, nil)
	site.API(t, http.MethodPost, "/projects/"+pid+"/members", map[string]any{"role_id": 2,
		"member_user": map[string]string{"username": "dev"}}, nil)
	site.API(t, http.MethodPost, "/usergroups", map[string]any{"group_name": "ops", "group_type": 2}, nil)
	pull := []map[string]string{{"resource": "repository", "action": "pull"}}
	site.API(t, http.MethodPost, "/robots", map[string]any{"name": "ci", "level": "project", "duration": -1,
		"permissions": []map[string]any{{"kind": "project", "namespace": "shop", "access": pull}}}, nil)
	site.API(t, http.MethodPost, "/robots", map[string]any{"name": "backup", "level": "system", "duration": -1,
		"permissions": []map[string]any{{"kind": "project", "namespace": "*", "access": pull}}}, nil)
	s.global, s.projectLabel = "production", "frontend"
	site.API(t, http.MethodPost, "/labels", map[string]any{"name": s.global, "scope": "g", "color": "#1f7a3a"}, nil)
	site.API(t, http.MethodPost, "/labels", map[string]any{"name": s.projectLabel, "scope": "p", "project_id": s.pid, "color": "#0b5cad"}, nil)

	// An image, scanned, with a label; an image index.
	s.digest = site.PushImage(t, "shop/app", "v1", 1024)
	art := "/projects/shop/repositories/app/artifacts/" + s.digest
	site.API(t, http.MethodPost, art+"/labels", map[string]any{"id": idOf(t, site, "/labels?scope=g&name="+s.global)}, nil)
	site.API(t, http.MethodPost, art+"/scan", nil, nil)
	poll(t, "the scan", func() bool {
		var a struct {
			ScanOverview map[string]struct {
				ScanStatus string `json:"scan_status"`
			} `json:"scan_overview"`
		}
		site.API(t, http.MethodGet, art+"?with_scan_overview=true", nil, &a)
		for _, o := range a.ScanOverview {
			return o.ScanStatus == "Success"
		}
		return false
	})
	idx, err := random.Index(512, 1, 2)
	require.NoError(t, err)
	ref, err := name.ParseReference(site.Host+"/shop/multi:latest", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(ref, idx, remote.WithAuth(&authn.Basic{Username: "admin", Password: portaltest.AdminPassword})))
	d, err := idx.Digest()
	require.NoError(t, err)
	s.index = d.String()

	// Tag retention (a dry run) and immutability.
	doublestar := func(decoration, pattern string) []map[string]string {
		return []map[string]string{{"kind": "doublestar", "decoration": decoration, "pattern": pattern}}
	}
	site.API(t, http.MethodPost, "/retentions", map[string]any{"algorithm": "or",
		"rules": []map[string]any{{"action": "retain", "template": "latestPushedK", "params": map[string]any{"latestPushedK": 10},
			"tag_selectors": doublestar("matches", "**"), "scope_selectors": map[string]any{"repository": doublestar("repoMatches", "**")}}},
		"trigger": map[string]any{"kind": "Schedule", "settings": map[string]string{"cron": ""}},
		"scope":   map[string]any{"level": "project", "ref": s.pid}}, nil)
	site.API(t, http.MethodPost, "/retentions/"+pid+"/executions", map[string]bool{"dry_run": true}, nil)
	poll(t, "the retention run", func() bool {
		var es []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		site.API(t, http.MethodGet, "/retentions/"+pid+"/executions", nil, &es)
		if len(es) > 0 {
			s.retentionExec = es[0].ID
		}
		return len(es) > 0 && es[0].Status != "Pending" && es[0].Status != "Running"
	})
	s.retentionTask = idOf(t, site, fmt.Sprintf("/retentions/%s/executions/%d/tasks", pid, s.retentionExec))
	site.API(t, http.MethodPost, "/projects/shop/immutabletagrules", map[string]any{"action": "immutable", "template": "immutable_template",
		"tag_selectors": doublestar("matches", "release-*"), "scope_selectors": map[string]any{"repository": doublestar("repoMatches", "**")}}, nil)
	s.immutableID = idOf(t, site, "/projects/shop/immutabletagrules")

	// A webhook with a delivery.
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(hook.Close)
	site.API(t, http.MethodPost, "/projects/"+pid+"/webhook/policies", map[string]any{"name": "notify-ci", "enabled": true,
		"event_types": []string{"PUSH_ARTIFACT"}, "targets": []map[string]any{{"type": "http", "address": hook.URL}}}, nil)
	s.hookID = idOf(t, site, "/projects/"+pid+"/webhook/policies")
	site.API(t, http.MethodPost, fmt.Sprintf("/projects/%s/webhook/policies/%d/test", pid, s.hookID), nil, nil)

	// A registry (another berth) and a replication rule that ran.
	mirror := portaltest.Start(t)
	mirror.CreateProject(t, "shop", false)
	site.API(t, http.MethodPost, "/registries", map[string]any{"name": "mirror", "url": mirror.URL, "type": "harbor",
		"credential": map[string]string{"type": "basic", "access_key": "admin", "access_secret": portaltest.AdminPassword}}, nil)
	s.registryID = idOf(t, site, "/registries?name=mirror")
	site.API(t, http.MethodPost, "/replication/policies", map[string]any{"name": "to-mirror", "enabled": true, "override": true,
		"dest_registry": map[string]int64{"id": s.registryID}, "trigger": map[string]string{"type": "manual"},
		"filters": []map[string]string{{"type": "name", "value": "shop/app"}}}, nil)
	s.ruleID = idOf(t, site, "/replication/policies")
	site.API(t, http.MethodPost, "/replication/executions", map[string]int64{"policy_id": s.ruleID}, nil)
	poll(t, "the replication", func() bool {
		var es []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		site.API(t, http.MethodGet, fmt.Sprintf("/replication/executions?policy_id=%d", s.ruleID), nil, &es)
		if len(es) > 0 {
			s.replExec = es[0].ID
		}
		return len(es) > 0 && es[0].Status != "InProgress" && es[0].Status != "Pending"
	})
	s.replTask = idOf(t, site, fmt.Sprintf("/replication/executions/%d/tasks", s.replExec))

	// A garbage collection (dry run).
	site.API(t, http.MethodPost, "/system/gc/schedule", map[string]any{"schedule": map[string]string{"type": "Manual"},
		"parameters": map[string]bool{"dry_run": true}}, nil)
	poll(t, "the garbage collection", func() bool {
		var runs []struct {
			ID     int64  `json:"id"`
			Status string `json:"job_status"`
		}
		site.API(t, http.MethodGet, "/system/gc", nil, &runs)
		if len(runs) > 0 {
			s.gcID = runs[0].ID
		}
		return len(runs) > 0 && runs[0].Status != "Pending" && runs[0].Status != "Running"
	})
	return s
}

// pagesOf lists every page of the portal a signed-in admin sees, with
// what each shows of the seeded data.
func pagesOf(s seeded) []portalPage {
	p := fmt.Sprintf("/projects/%d", s.pid)
	artifact := func(repo, digest, view string) string {
		q := url.Values{"repo": {repo}, "digest": {digest}}
		if view != "" {
			q.Set("view", view)
		}
		return p + "/artifact?" + q.Encode()
	}
	pol := p + "/policy"
	repl := fmt.Sprintf("/admin/replications/%d", s.ruleID)
	return []portalPage{
		{"/projects", "shop", "projects"},
		{p + "/summary", "shop", "project-summary"},
		{p + "/repositories", "shop/app", ""},
		{p + "/repositories/app", "v1", "artifacts"},
		{p + "/repositories/app?view=tags", "v1", ""},
		{p + "/repositories/multi", "latest", ""},
		{artifact("shop/app", s.digest, ""), s.digest, ""},
		{artifact("shop/app", s.digest, "vulnerabilities"), "CVE-2026-0001", "vulnerabilities"},
		{artifact("shop/app", s.digest, "sbom"), "shop/app", ""},
		{artifact("shop/app", s.digest, "history"), "shop/app", ""},
		{artifact("shop/app", s.digest, "accessories"), "shop/app", ""},
		{artifact("shop/multi", s.index, ""), s.index, ""},
		{p + "/members", "dev", "members"},
		{p + "/labels", s.projectLabel, ""},
		{p + "/scanner", "static", ""},
		{pol, "**", ""},
		{pol + "/retention/rules/1", "**", ""},
		{fmt.Sprintf("%s/retention/executions/%d", pol, s.retentionExec), "app", ""},
		{fmt.Sprintf("%s/retention/executions/%d/tasks/%d", pol, s.retentionExec, s.retentionTask), "app", ""},
		{fmt.Sprintf("%s/immutability/rules/%d", pol, s.immutableID), "release-*", ""},
		{p + "/robots", "robot$shop+ci", "robots"},
		{p + "/webhooks", "notify-ci", ""},
		{fmt.Sprintf("%s/webhooks/%d", p, s.hookID), "notify-ci", ""},
		{fmt.Sprintf("%s/webhooks/%d/deliveries", p, s.hookID), "notify-ci", ""},
		{p + "/webhooks/new", "PUSH_ARTIFACT", ""},
		{p + "/logs", "shop/app", ""},
		{p + "/config", "CVE", ""},
		{"/account/password", `css:input[type=password][name=new_password]`, ""},
		{"/logs", "shop/app", ""},
		{"/admin/users", "dev@example.com", ""},
		{"/admin/groups", "ops", ""},
		{"/admin/robots", "robot$backup", ""},
		{"/admin/registries", "mirror", ""},
		{fmt.Sprintf("/admin/registries/%d", s.registryID), "mirror", ""},
		{"/admin/replications", "to-mirror", "replications"},
		{"/admin/replications/new", "mirror", ""},
		{repl, "shop/app", ""},
		{repl + "/executions", "to-mirror", ""},
		{fmt.Sprintf("%s/executions/%d", repl, s.replExec), "shop/app", ""},
		{fmt.Sprintf("%s/executions/%d/tasks/%d/log", repl, s.replExec, s.replTask), "shop/app", ""},
		{"/admin/labels", s.global, ""},
		{"/admin/quotas", "shop", ""},
		{"/admin/scanners", "static", ""},
		{"/admin/gc", fmt.Sprint(s.gcID), ""},
		{fmt.Sprintf("/admin/gc/%d", s.gcID), fmt.Sprint(s.gcID), "gc-job"},
		{"/admin/audit", "shop", "audit-log"},
		{"/admin/config", "db_auth", "config"},
	}
}

// check asserts the page the browser shows is not the error page, is
// in lang, shows what it must, passes axe-core and does not scroll
// sideways.
func (b *browser) check(pg portalPage, lang string) {
	b.t.Helper()
	t := b.t
	title := eval[string](b, `document.title`)
	assert.NotContains(t, title, map[string]string{"en-US": "Something went wrong", "zh-CN": "出错了"}[lang], "%s: %s", pg.path, title)
	assert.Equal(t, lang, eval[string](b, `document.documentElement.lang`), pg.path)
	if lang == "zh-CN" {
		assert.Regexp(t, `\p{Han}`, b.main(), "%s: the page is in Chinese", pg.path)
	}
	if sel, ok := strings.CutPrefix(pg.shows, "css:"); ok {
		q, _ := json.Marshal(sel)
		assert.Positive(t, eval[int](b, `document.querySelectorAll(`+string(q)+`).length`), "%s has %s", pg.path, sel)
	} else {
		shown := b.main() + " " + eval[string](b, `[...document.querySelectorAll("main input, main textarea, main select")].map(e => e.value).join(" ")`)
		assert.Contains(t, shown, pg.shows, pg.path)
	}
	assert.Empty(t, b.violations(), "accessibility violations on %s (%s)", pg.path, lang)
	wide := eval[[]int](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)
	assert.LessOrEqual(t, wide[0], wide[1], "%s (%s) scrolls sideways at 1280 px", pg.path, lang)
}

// everyPage seeds a site, signs in as the admin in a 1280x800 window,
// switches to lang with the language links, and checks every page.
func everyPage(t *testing.T, lang string) {
	site := portaltest.Start(t)
	s := seedSite(t, site)
	b := newBrowser(t, site.URL)
	b.do(chromedp.EmulateViewport(1280, 800))

	b.visit("/login")
	if lang != "en-US" {
		b.click(`a[lang="` + lang + `"]`)
	}
	b.check(portalPage{path: "/login", shows: "berth"}, lang)
	if lang == "en-US" {
		b.shot("login")
	}
	b.fill("#principal", "admin")
	b.fill("#password", portaltest.AdminPassword)
	b.click(`form[action$="/login"] button[type=submit]`)
	require.Equal(t, "/projects", b.location())

	for _, pg := range pagesOf(s) {
		b.visit(pg.path)
		b.check(pg, lang)
		if pg.shot != "" && lang == "en-US" {
			b.shot(pg.shot)
		}
	}
	// The artifact list shows the scan as a severity bar.
	b.visit(fmt.Sprintf("/projects/%d/repositories/app", s.pid))
	assert.Equal(t, 1, eval[int](b, `document.querySelectorAll("svg.sevsvg rect.sev-critical").length`), "a critical segment")
	assert.Equal(t, 1, eval[int](b, `document.querySelectorAll("svg.sevsvg rect.sev-medium").length`), "a medium segment")
}

// Every page of the portal, seeded with real content, in English: no
// error page, the seeded data shown, no serious or critical axe-core
// violation, no sideways scrolling at 1280x800.
func TestEveryPageIsAccessible(t *testing.T) { everyPage(t, "en-US") }

// The same pages in Simplified Chinese, chosen with the language link.
func TestEveryPageIsAccessibleInChinese(t *testing.T) { everyPage(t, "zh-CN") }
