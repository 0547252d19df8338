package api_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/retention"
	"github.com/berthlabs/berth/sqldb"
)

// lateRetention lets the service be built after the env it reads from.
type lateRetention struct{ *retention.Service }

// startRetention runs a retention service over the env's registry and
// projects, with its own database and job runner.
func startRetention(t *testing.T, e *env) *retention.Service {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "retention.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "jobs.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	pool.SetMaxOpenConns(1)
	t.Cleanup(func() { pool.Close() })
	require.NoError(t, jobs.Migrate(ctx, pool))
	ws := jobs.NewWorkers()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner, err := jobs.New(pool, jobs.WithWorkers(ws), jobs.WithPollInterval(20*time.Millisecond),
		jobs.WithStopGrace(2*time.Second), jobs.WithLogger(quiet))
	require.NoError(t, err)
	svc, err := retention.New(ctx, db, e.reg, e.projects, runner, retention.WithLogger(quiet))
	require.NoError(t, err)
	require.NoError(t, svc.Register(ws))
	require.NoError(t, runner.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = runner.Stop(sctx)
	})
	return svc
}

func retentionBody(projectID int64, k int, cron string) api.RetentionPolicy {
	return api.RetentionPolicy{Algorithm: "or", Rules: []api.RetentionRule{{
		Action: "retain", Template: "latestPushedK", Params: map[string]any{"latestPushedK": k},
		TagSelectors: []api.RetentionSelector{{Kind: "doublestar", Decoration: "matches", Pattern: "**",
			Extras: `{"untagged":true}`}},
		ScopeSelectors: map[string][]api.RetentionSelector{"repository": {{Kind: "doublestar", Decoration: "repoMatches",
			Pattern: "**"}}},
	}}, Trigger: &api.RetentionRuleTrigger{Kind: "Schedule", Settings: map[string]any{"cron": cron}},
		Scope: &api.RetentionPolicyScope{Level: "project", Ref: projectID}}
}

func TestRetentionAPI(t *testing.T) {
	late := &lateRetention{}
	e := newEnv(t, api.WithRetention(late))
	late.Service = startRetention(t, e)
	e.user("dev", "guest")
	e.project("team", false, "dev=developer", "guest=guest")
	team, err := e.projects.Get(t.Context(), "team")
	require.NoError(t, err)
	old := e.push("team/app", "old")
	time.Sleep(5 * time.Millisecond)
	newest := e.push("team/app", "new")

	// Metadata: for anyone signed in.
	e.do(anonymous, http.MethodGet, "/retentions/metadatas", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	var md api.RetentionMetadata
	e.do(as("guest"), http.MethodGet, "/retentions/metadatas", nil).ok(t, http.StatusOK, &md)
	assert.Len(t, md.Templates, 7)
	assert.Equal(t, "latestPushedK", md.Templates[0].RuleTemplate)
	assert.Equal(t, []api.RetentionRuleParamMetadata{{Type: "int", Unit: "COUNT", Required: true}}, md.Templates[0].Params)
	assert.Equal(t, []string{"repoMatches", "repoExcludes"}, md.ScopeSelectors[0].Decorations)
	assert.Equal(t, []string{"matches", "excludes"}, md.TagSelectors[0].Decorations)

	// Create: developers and up, one a project; the id is the project's.
	body := retentionBody(team.ID, 1, "")
	var proj api.Project
	e.do(as("dev"), http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, &proj)
	assert.Nil(t, proj.Metadata.RetentionID, "no policy yet")
	e.do(anonymous, http.MethodPost, "/retentions", body).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(as("guest"), http.MethodPost, "/retentions", body).fails(t, http.StatusForbidden, "FORBIDDEN")
	r := e.do(as("dev"), http.MethodPost, "/retentions", body)
	r.ok(t, http.StatusCreated, nil)
	assert.Equal(t, fmt.Sprintf("%s/retentions/%d", api.BasePath, team.ID), r.Header.Get("Location"))
	e.do(as("dev"), http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, &proj)
	if assert.NotNil(t, proj.Metadata.RetentionID) {
		assert.Equal(t, fmt.Sprint(team.ID), *proj.Metadata.RetentionID, "Harbor's metadata names the policy")
	}
	e.do(as("dev"), http.MethodPost, "/retentions", body).fails(t, http.StatusConflict, "CONFLICT")
	e.do(as("dev"), http.MethodPost, "/retentions", retentionBody(99999, 1, "")).fails(t, http.StatusNotFound, "NOT_FOUND")
	noScope := body
	noScope.Scope = nil
	e.do(as("dev"), http.MethodPost, "/retentions", noScope).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	bad := retentionBody(team.ID, 1, "")
	bad.Rules[0].Template = "nothing"
	e.do(admin(), http.MethodPut, fmt.Sprintf("/retentions/%d", team.ID), bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	bad = retentionBody(team.ID, 1, "")
	bad.Rules[0].Params = map[string]any{"latestPushedK": "many"}
	e.do(admin(), http.MethodPut, fmt.Sprintf("/retentions/%d", team.ID), bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	bad = retentionBody(team.ID, 1, "whenever")
	e.do(admin(), http.MethodPut, fmt.Sprintf("/retentions/%d", team.ID), bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	path := fmt.Sprintf("/retentions/%d", team.ID)
	var pol api.RetentionPolicy
	e.do(as("dev"), http.MethodGet, path, nil).ok(t, http.StatusOK, &pol)
	assert.Equal(t, team.ID, pol.ID)
	assert.Equal(t, "or", pol.Algorithm)
	require.Len(t, pol.Rules, 1)
	assert.Equal(t, 1, pol.Rules[0].ID)
	assert.Equal(t, "retain", pol.Rules[0].Action)
	assert.EqualValues(t, 1, pol.Rules[0].Params["latestPushedK"])
	assert.Equal(t, `{"untagged":true}`, pol.Rules[0].TagSelectors[0].Extras)
	assert.Equal(t, "repoMatches", pol.Rules[0].ScopeSelectors["repository"][0].Decoration)
	assert.Equal(t, &api.RetentionPolicyScope{Level: "project", Ref: team.ID}, pol.Scope)
	assert.Equal(t, "", pol.Trigger.Settings["cron"])
	e.do(as("guest"), http.MethodGet, path, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("dev"), http.MethodGet, "/retentions/99999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	e.do(as("dev"), http.MethodPut, path, retentionBody(team.ID, 1, "0 0 3 * * *")).ok(t, http.StatusOK, nil)
	e.do(as("dev"), http.MethodGet, path, nil).ok(t, http.StatusOK, &pol)
	assert.Equal(t, "0 0 3 * * *", pol.Trigger.Settings["cron"])
	assert.Contains(t, pol.Trigger.References, "next_scheduled_time")

	// A dry run, then a run.
	wait := func(loc string) api.RetentionExecution {
		t.Helper()
		var ex api.RetentionExecution
		require.Eventually(t, func() bool {
			var list []api.RetentionExecution
			e.do(as("dev"), http.MethodGet, path+"/executions", nil).ok(t, http.StatusOK, &list)
			for _, x := range list {
				if strings.HasSuffix(loc, fmt.Sprintf("/executions/%d", x.ID)) {
					ex = x
					return x.Status != "Pending" && x.Status != "Running"
				}
			}
			return false
		}, 20*time.Second, 20*time.Millisecond)
		return ex
	}
	e.do(as("guest"), http.MethodPost, path+"/executions", map[string]bool{"dry_run": true}).fails(t, http.StatusForbidden, "FORBIDDEN")
	r = e.do(as("dev"), http.MethodPost, path+"/executions", map[string]bool{"dry_run": true})
	r.ok(t, http.StatusCreated, nil)
	dry := wait(r.Header.Get("Location"))
	assert.Equal(t, "Success", dry.Status)
	assert.True(t, dry.DryRun)
	assert.Equal(t, "MANUAL", dry.Trigger)
	assert.Equal(t, team.ID, dry.PolicyID)
	require.NotNil(t, dry.EndTime)

	var tasks []api.RetentionExecutionTask
	r = e.do(as("dev"), http.MethodGet, fmt.Sprintf("%s/executions/%d/tasks", path, dry.ID), nil)
	r.ok(t, http.StatusOK, &tasks)
	assert.Equal(t, "1", r.Header.Get("X-Total-Count"))
	require.Len(t, tasks, 1)
	assert.Equal(t, "app", tasks[0].Repository, "Harbor's: without the project")
	assert.Equal(t, "Success", tasks[0].Status)
	assert.Equal(t, 3, tasks[0].StatusCode)
	assert.Equal(t, 2, tasks[0].Total)
	assert.Equal(t, 1, tasks[0].Retained)
	r = e.do(as("dev"), http.MethodGet, fmt.Sprintf("%s/executions/%d/tasks/%d", path, dry.ID, tasks[0].ID), nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"))
	assert.Contains(t, string(r.Body), "dry run")
	assert.Contains(t, string(r.Body), old)
	_, err = e.reg.GetArtifact(t.Context(), "team/app", old)
	require.NoError(t, err, "a dry run deletes nothing")

	r = e.do(as("dev"), http.MethodPost, path+"/executions", nil)
	r.ok(t, http.StatusCreated, nil)
	run := wait(r.Header.Get("Location"))
	assert.Equal(t, "Success", run.Status)
	assert.False(t, run.DryRun)
	_, err = e.reg.GetArtifact(t.Context(), "team/app", old)
	assert.True(t, errors.Is(err, core.ErrNotFound), "the older image went")
	_, err = e.reg.GetArtifact(t.Context(), "team/app", newest)
	assert.NoError(t, err)

	var list []api.RetentionExecution
	r = e.do(as("dev"), http.MethodGet, path+"/executions?page_size=1", nil)
	r.ok(t, http.StatusOK, &list)
	assert.Equal(t, "2", r.Header.Get("X-Total-Count"))
	require.Len(t, list, 1)
	assert.Equal(t, run.ID, list[0].ID, "newest first")

	// berth: one execution by its id.
	var one api.RetentionExecution
	e.do(as("dev"), http.MethodGet, fmt.Sprintf("%s/executions/%d", path, dry.ID), nil).ok(t, http.StatusOK, &one)
	assert.Equal(t, dry.ID, one.ID)
	assert.True(t, one.DryRun)
	assert.Equal(t, "Success", one.Status)
	e.do(as("guest"), http.MethodGet, fmt.Sprintf("%s/executions/%d", path, dry.ID), nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("dev"), http.MethodGet, fmt.Sprintf("%s/executions/%d", path, 99999), nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	stop := fmt.Sprintf("%s/executions/%d", path, run.ID)
	e.do(as("dev"), http.MethodPatch, stop, map[string]string{"action": "go"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("dev"), http.MethodPatch, stop, map[string]string{"action": "stop"}).ok(t, http.StatusOK, nil) // ended: nothing to do
	e.do(as("dev"), http.MethodPatch, fmt.Sprintf("%s/executions/%d", path, 99999), map[string]string{"action": "stop"}).
		fails(t, http.StatusNotFound, "NOT_FOUND")

	e.do(as("guest"), http.MethodDelete, path, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("dev"), http.MethodDelete, path, nil).ok(t, http.StatusOK, nil)
	e.do(as("dev"), http.MethodGet, path, nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("dev"), http.MethodGet, path+"/executions", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
}

// Harbor's label selectors travel in tag_selectors (kind label, names
// separated by commas) and read back as sent.
func TestRetentionLabelSelectors(t *testing.T) {
	late := &lateRetention{}
	e := newEnv(t, api.WithRetention(late))
	late.Service = startRetention(t, e)
	e.user("dev")
	e.project("team", false, "dev=developer")
	team, err := e.projects.Get(t.Context(), "team")
	require.NoError(t, err)
	body := retentionBody(team.ID, 1, "")
	body.Rules[0].TagSelectors = append(body.Rules[0].TagSelectors,
		api.RetentionSelector{Kind: "label", Decoration: "withLabels", Pattern: "prod, keep"})
	e.do(as("dev"), http.MethodPost, "/retentions", body).ok(t, http.StatusCreated, nil)
	var pol api.RetentionPolicy
	e.do(as("dev"), http.MethodGet, fmt.Sprintf("/retentions/%d", team.ID), nil).ok(t, http.StatusOK, &pol)
	require.Len(t, pol.Rules, 1)
	require.Len(t, pol.Rules[0].TagSelectors, 2)
	assert.Equal(t, api.RetentionSelector{Kind: "label", Decoration: "withLabels", Pattern: "prod,keep"}, pol.Rules[0].TagSelectors[1])

	for _, sel := range []api.RetentionSelector{
		{Kind: "label", Decoration: "matches", Pattern: "prod"},
		{Kind: "label", Decoration: "withoutLabels", Pattern: " , "},
	} {
		bad := retentionBody(team.ID, 1, "")
		bad.Rules[0].TagSelectors = append(bad.Rules[0].TagSelectors, sel)
		e.do(as("dev"), http.MethodPut, fmt.Sprintf("/retentions/%d", team.ID), bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	}
	var md api.RetentionMetadata
	e.do(as("dev"), http.MethodGet, "/retentions/metadatas", nil).ok(t, http.StatusOK, &md)
	require.Len(t, md.TagSelectors, 2)
	assert.Equal(t, "label", md.TagSelectors[1].Kind)
	assert.Equal(t, []string{"withLabels", "withoutLabels"}, md.TagSelectors[1].Decorations)
}
