package harbor_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/webhook"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/webhookjob"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWebhooks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const project = "compat-webhook"
	pid := newProject(t, project)

	var mu sync.Mutex
	var events []map[string]any
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)

	types, err := apiClient.Webhook.GetSupportedEventTypes(ctx, webhook.NewGetSupportedEventTypesParams().
		WithProjectNameOrID(project))
	require.NoError(t, err)
	assert.Contains(t, types.Payload.EventType, models.EventType("PUSH_ARTIFACT"))
	assert.Contains(t, types.Payload.EventType, models.EventType("TAG_RETENTION"))
	assert.Contains(t, types.Payload.NotifyType, models.NotifyType("http"))
	require.NotEmpty(t, types.Payload.PayloadFormats)
	assert.Equal(t, models.NotifyType("http"), types.Payload.PayloadFormats[0].NotifyType)
	assert.Contains(t, types.Payload.PayloadFormats[0].Formats, models.PayloadFormatType("CloudEvents"))

	created, err := apiClient.Webhook.CreateWebhookPolicyOfProject(ctx, webhook.NewCreateWebhookPolicyOfProjectParams().
		WithProjectNameOrID(project).WithPolicy(&models.WebhookPolicy{
		Name: "hook", Description: "pushes", Enabled: true, EventTypes: []string{"PUSH_ARTIFACT"},
		Targets: []*models.WebhookTargetObject{{Type: "http", Address: receiver.URL, PayloadFormat: "Default",
			AuthHeader: "Bearer s3cret"}},
	}))
	require.NoError(t, err)
	id := idFromLocation(t, created.Location)

	list, err := apiClient.Webhook.ListWebhookPoliciesOfProject(ctx, webhook.NewListWebhookPoliciesOfProjectParams().
		WithProjectNameOrID(project))
	require.NoError(t, err)
	assert.Equal(t, int64(1), list.XTotalCount)
	require.Len(t, list.Payload, 1)
	assert.Equal(t, id, list.Payload[0].ID)
	assert.Equal(t, "hook", list.Payload[0].Name)

	got, err := apiClient.Webhook.GetWebhookPolicyOfProject(ctx, webhook.NewGetWebhookPolicyOfProjectParams().
		WithProjectNameOrID(project).WithWebhookPolicyID(id))
	require.NoError(t, err)
	p := got.Payload
	assert.Equal(t, id, p.ID)
	assert.Equal(t, pid, p.ProjectID)
	assert.Equal(t, "hook", p.Name)
	assert.Equal(t, "pushes", p.Description)
	assert.Equal(t, adminUser, p.Creator)
	assert.True(t, p.Enabled)
	assert.Equal(t, []string{"PUSH_ARTIFACT"}, p.EventTypes)
	require.Len(t, p.Targets, 1)
	assert.Equal(t, receiver.URL, p.Targets[0].Address)
	assert.Equal(t, "http", p.Targets[0].Type)
	assert.Equal(t, models.PayloadFormatType("Default"), p.Targets[0].PayloadFormat)
	assert.NotEqual(t, "Bearer s3cret", p.Targets[0].AuthHeader, "the auth header is not shown back")
	assert.WithinDuration(t, time.Now(), time.Time(p.CreationTime), time.Minute)

	// Update the whole policy, as Harbor's UI does, by project id.
	p.Description, p.EventTypes = "pushes and deletions", []string{"PUSH_ARTIFACT", "DELETE_ARTIFACT"}
	_, err = apiClient.Webhook.UpdateWebhookPolicyOfProject(ctx, webhook.NewUpdateWebhookPolicyOfProjectParams().
		WithProjectNameOrID(itoa(pid)).WithXIsResourceName(ptr(false)).WithWebhookPolicyID(id).WithPolicy(p))
	require.NoError(t, err)
	got, err = apiClient.Webhook.GetWebhookPolicyOfProject(ctx, webhook.NewGetWebhookPolicyOfProjectParams().
		WithProjectNameOrID(project).WithWebhookPolicyID(id))
	require.NoError(t, err)
	assert.Equal(t, "pushes and deletions", got.Payload.Description)
	assert.ElementsMatch(t, []string{"PUSH_ARTIFACT", "DELETE_ARTIFACT"}, got.Payload.EventTypes)
	assert.Equal(t, time.Time(p.CreationTime).UTC(), time.Time(got.Payload.CreationTime).UTC())

	// A push is delivered, and shows as an execution of the policy.
	push(t, project, "app", "v1")
	var exec *models.Execution
	eventually(t, 10*time.Second, "the push's delivery", func() bool {
		execs, err := apiClient.Webhook.ListExecutionsOfWebhookPolicy(ctx, webhook.NewListExecutionsOfWebhookPolicyParams().
			WithProjectNameOrID(project).WithWebhookPolicyID(id))
		require.NoError(t, err)
		if len(execs.Payload) == 0 {
			return false
		}
		assert.Equal(t, int64(len(execs.Payload)), execs.XTotalCount)
		exec = execs.Payload[0]
		return exec.Status == "Success"
	})
	assert.Positive(t, exec.ID)
	assert.Equal(t, "WEBHOOK", exec.VendorType)
	assert.Equal(t, id, exec.VendorID)
	assert.Equal(t, "EVENT", exec.Trigger)
	assert.NotEmpty(t, exec.StartTime)
	assert.Equal(t, "PUSH_ARTIFACT", exec.ExtraAttrs["event_type"])
	mu.Lock()
	require.Len(t, events, 1)
	assert.Equal(t, "PUSH_ARTIFACT", events[0]["type"])
	mu.Unlock()

	// What go-client offers beyond executions: tasks, their logs, the last
	// trigger of each event type, and the older webhook jobs.
	t.Run("tasks", func(t *testing.T) {
		tasks, err := apiClient.Webhook.ListTasksOfWebhookExecution(ctx, webhook.NewListTasksOfWebhookExecutionParams().
			WithProjectNameOrID(project).WithWebhookPolicyID(id).WithExecutionID(exec.ID))
		require.NoError(t, err)
		require.NotEmpty(t, tasks.Payload)
		task := tasks.Payload[0]
		assert.Equal(t, exec.ID, task.ExecutionID)
		assert.Equal(t, "Success", task.Status)

		log, err := apiClient.Webhook.GetLogsOfWebhookTask(ctx, webhook.NewGetLogsOfWebhookTaskParams().
			WithProjectNameOrID(project).WithWebhookPolicyID(id).WithExecutionID(exec.ID).WithTaskID(task.ID))
		require.NoError(t, err)
		assert.NotEmpty(t, log.Payload)
	})
	t.Run("lasttrigger", func(t *testing.T) {
		last, err := apiClient.Webhook.LastTrigger(ctx, webhook.NewLastTriggerParams().WithProjectNameOrID(project))
		require.NoError(t, err)
		var seen bool
		for _, l := range last.Payload {
			if l.PolicyName == "hook" && l.EventType == "PUSH_ARTIFACT" {
				seen = true
				assert.True(t, l.Enabled)
				assert.WithinDuration(t, time.Now(), time.Time(l.LastTriggerTime), time.Minute)
			}
		}
		assert.True(t, seen)
	})
	t.Run("jobs", func(t *testing.T) {
		jobs, err := apiClient.Webhookjob.ListWebhookJobs(ctx, webhookjob.NewListWebhookJobsParams().
			WithProjectNameOrID(project).WithPolicyID(id))
		require.NoError(t, err)
		require.NotEmpty(t, jobs.Payload)
		assert.Equal(t, id, jobs.Payload[0].PolicyID)
		assert.Equal(t, "PUSH_ARTIFACT", jobs.Payload[0].EventType)
		assert.Equal(t, "http", jobs.Payload[0].NotifyType)
		assert.Equal(t, "Success", jobs.Payload[0].Status)
	})

	_, err = apiClient.Webhook.DeleteWebhookPolicyOfProject(ctx, webhook.NewDeleteWebhookPolicyOfProjectParams().
		WithProjectNameOrID(project).WithWebhookPolicyID(id))
	require.NoError(t, err)
	_, err = apiClient.Webhook.GetWebhookPolicyOfProject(ctx, webhook.NewGetWebhookPolicyOfProjectParams().
		WithProjectNameOrID(project).WithWebhookPolicyID(id))
	var nf *webhook.GetWebhookPolicyOfProjectNotFound
	assert.ErrorAs(t, err, &nf)
	list, err = apiClient.Webhook.ListWebhookPoliciesOfProject(ctx, webhook.NewListWebhookPoliciesOfProjectParams().
		WithProjectNameOrID(project))
	require.NoError(t, err)
	assert.Equal(t, int64(0), list.XTotalCount)
}
