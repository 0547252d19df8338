package harbor_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/retention"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// retentionPolicy keeps the k most recently pushed artifacts of every
// repository of project ref.
func retentionPolicy(ref, k int64, cron string) *models.RetentionPolicy {
	return &models.RetentionPolicy{
		Algorithm: "or",
		Rules: []*models.RetentionRule{{
			Action: "retain", Template: "latestPushedK", Params: map[string]any{"latestPushedK": k},
			TagSelectors: []*models.RetentionSelector{{Kind: "doublestar", Decoration: "matches", Pattern: "**",
				Extras: `{"untagged":true}`}},
			ScopeSelectors: map[string][]models.RetentionSelector{"repository": {{Kind: "doublestar", Decoration: "repoMatches",
				Pattern: "**"}}},
		}},
		Trigger: &models.RetentionRuleTrigger{Kind: "Schedule", Settings: map[string]any{"cron": cron}},
		Scope:   &models.RetentionPolicyScope{Level: "project", Ref: ref},
	}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pid := newProject(t, "compat-retention")
	for _, tag := range []string{"v1", "v2", "v3"} {
		push(t, "compat-retention", "app", tag)
		time.Sleep(10 * time.Millisecond) // distinct push times
	}

	md, err := apiClient.Retention.GetRentenitionMetadata(ctx, retention.NewGetRentenitionMetadataParams())
	require.NoError(t, err)
	templates := map[string]bool{}
	for _, tm := range md.Payload.Templates {
		templates[tm.RuleTemplate] = true
	}
	assert.True(t, templates["latestPushedK"] && templates["always"], "templates: %v", templates)
	require.NotEmpty(t, md.Payload.TagSelectors)
	assert.Equal(t, "doublestar", md.Payload.TagSelectors[0].Kind)

	created, err := apiClient.Retention.CreateRetention(ctx, retention.NewCreateRetentionParams().
		WithPolicy(retentionPolicy(pid, 1, "")))
	require.NoError(t, err)
	id := idFromLocation(t, created.Location)

	got, err := apiClient.Retention.GetRetention(ctx, retention.NewGetRetentionParams().WithID(id))
	require.NoError(t, err)
	p := got.Payload
	assert.Equal(t, id, p.ID)
	assert.Equal(t, "or", p.Algorithm)
	require.NotNil(t, p.Scope)
	assert.Equal(t, "project", p.Scope.Level)
	assert.Equal(t, pid, p.Scope.Ref)
	require.Len(t, p.Rules, 1)
	assert.Equal(t, "latestPushedK", p.Rules[0].Template)
	assert.Equal(t, "retain", p.Rules[0].Action)
	assert.Equal(t, json.Number("1"), p.Rules[0].Params["latestPushedK"])
	require.Len(t, p.Rules[0].TagSelectors, 1)
	assert.Equal(t, "**", p.Rules[0].TagSelectors[0].Pattern)
	assert.JSONEq(t, `{"untagged":true}`, p.Rules[0].TagSelectors[0].Extras)
	require.Len(t, p.Rules[0].ScopeSelectors["repository"], 1)
	assert.Equal(t, "repoMatches", p.Rules[0].ScopeSelectors["repository"][0].Decoration)
	require.NotNil(t, p.Trigger)
	assert.Equal(t, "Schedule", p.Trigger.Kind)

	t.Run("project metadata retention_id", func(t *testing.T) {
		proj, err := apiClient.Project.GetProject(ctx, project.NewGetProjectParams().WithProjectNameOrID("compat-retention"))
		require.NoError(t, err)
		require.NotNil(t, proj.Payload.Metadata)
		assert.Equal(t, itoa(id), *proj.Payload.Metadata.RetentionID)
	})

	// Keep two, on a daily schedule.
	_, err = apiClient.Retention.UpdateRetention(ctx, retention.NewUpdateRetentionParams().WithID(id).
		WithPolicy(retentionPolicy(pid, 2, "0 0 0 * * *")))
	require.NoError(t, err)
	got, err = apiClient.Retention.GetRetention(ctx, retention.NewGetRetentionParams().WithID(id))
	require.NoError(t, err)
	require.Len(t, got.Payload.Rules, 1)
	assert.Equal(t, json.Number("2"), got.Payload.Rules[0].Params["latestPushedK"])
	settings, ok := got.Payload.Trigger.Settings.(map[string]any)
	require.True(t, ok, "trigger.settings: %#v", got.Payload.Trigger.Settings)
	assert.Equal(t, "0 0 0 * * *", settings["cron"])

	// A dry run judges the three artifacts, retains two, deletes nothing.
	dry := runRetention(t, id, true)
	assert.True(t, dry.DryRun)
	assert.Equal(t, "Success", dry.Status)
	assert.Equal(t, "MANUAL", dry.Trigger)
	assert.Equal(t, id, dry.PolicyID)
	assert.NotEmpty(t, dry.StartTime)
	assert.NotEmpty(t, dry.EndTime)

	tasks, err := apiClient.Retention.ListRetentionTasks(ctx, retention.NewListRetentionTasksParams().WithID(id).WithEid(dry.ID))
	require.NoError(t, err)
	assert.Equal(t, int64(1), tasks.XTotalCount)
	require.Len(t, tasks.Payload, 1)
	task := tasks.Payload[0]
	assert.Equal(t, dry.ID, task.ExecutionID)
	t.Run("task repository", func(t *testing.T) {
		assert.Equal(t, "app", task.Repository)
	})
	assert.Equal(t, "Success", task.Status)
	assert.Equal(t, int64(3), task.Total)
	assert.Equal(t, int64(2), task.Retained)

	log, err := apiClient.Retention.GetRetentionTaskLog(ctx, retention.NewGetRetentionTaskLogParams().
		WithID(id).WithEid(dry.ID).WithTid(task.ID))
	require.NoError(t, err)
	assert.Contains(t, log.Payload, "v1")
	assert.Contains(t, log.Payload, "v3")
	assert.Equal(t, 3, countArtifacts(t, "compat-retention", "app"), "a dry run deletes nothing")

	// The real run deletes v1.
	real := runRetention(t, id, false)
	assert.False(t, real.DryRun)
	assert.Equal(t, "Success", real.Status)
	assert.Equal(t, 2, countArtifacts(t, "compat-retention", "app"))
	_, err = apiClient.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().
		WithProjectName("compat-retention").WithRepositoryName("app").WithReference("v1"))
	var gone *artifact.GetArtifactNotFound
	assert.ErrorAs(t, err, &gone)

	t.Run("stop a finished execution", func(t *testing.T) {
		_, err := apiClient.Retention.OperateRetentionExecution(ctx, retention.NewOperateRetentionExecutionParams().
			WithID(id).WithEid(real.ID).WithBody(retention.OperateRetentionExecutionBody{Action: "stop"}))
		require.NoError(t, err)
	})

	execs, err := apiClient.Retention.ListRetentionExecutions(ctx, retention.NewListRetentionExecutionsParams().WithID(id))
	require.NoError(t, err)
	assert.Equal(t, int64(2), execs.XTotalCount)
	require.Len(t, execs.Payload, 2)
	assert.Equal(t, real.ID, execs.Payload[0].ID, "newest first")
	assert.Equal(t, dry.ID, execs.Payload[1].ID)

	_, err = apiClient.Retention.DeleteRetention(ctx, retention.NewDeleteRetentionParams().WithID(id))
	require.NoError(t, err)
	_, err = apiClient.Retention.GetRetention(ctx, retention.NewGetRetentionParams().WithID(id))
	assert.True(t, hasStatus(err, http.StatusNotFound), "a deleted policy is 404 (Harbor's swagger declares none): %v", err)
}

// runRetention triggers an execution of policy id and waits for it to
// end.
func runRetention(t *testing.T, id int64, dryRun bool) *models.RetentionExecution {
	t.Helper()
	ctx := t.Context()
	ok, created, err := apiClient.Retention.TriggerRetentionExecution(ctx, retention.NewTriggerRetentionExecutionParams().
		WithID(id).WithBody(retention.TriggerRetentionExecutionBody{DryRun: dryRun}))
	require.NoError(t, err)
	require.Nil(t, ok, "Harbor answers 201 (or 200)")
	require.NotNil(t, created)
	eid := idFromLocation(t, created.Location)
	var e *models.RetentionExecution
	eventually(t, 20*time.Second, "the retention execution to end", func() bool {
		execs, err := apiClient.Retention.ListRetentionExecutions(ctx, retention.NewListRetentionExecutionsParams().
			WithID(id).WithPageSize(ptr(int64(10))))
		require.NoError(t, err)
		for _, x := range execs.Payload {
			if x.ID == eid {
				e = x
			}
		}
		require.NotNil(t, e, "execution %d is listed", eid)
		return e.Status != "Pending" && e.Status != "Running"
	})
	return e
}

func countArtifacts(t *testing.T, project, repo string) int {
	t.Helper()
	list, err := apiClient.Artifact.ListArtifacts(t.Context(), artifact.NewListArtifactsParams().
		WithProjectName(project).WithRepositoryName(repo).WithPageSize(ptr(int64(100))))
	require.NoError(t, err)
	require.Equal(t, int64(len(list.Payload)), list.XTotalCount)
	return len(list.Payload)
}
