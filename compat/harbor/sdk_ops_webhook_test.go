package harbor_test

import (
	"context"
	"fmt"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/webhook"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/webhookjob"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// hookRun is an execution of the webhook policy with one task.
type hookRun struct{ execution, task int64 }

// webhookCalls: the webhook and webhookjob tags. The policy posts pushes
// of project() to the fixture's receiver.
func webhookCalls() map[string]sdkCall {
	withPolicy := func(call func(ctx context.Context, f *fixture, p proj, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			id, err := once(ctx, f, "webhook policy", func(ctx context.Context) (int64, error) { return f.createWebhook(ctx, p) })
			if err != nil {
				return err
			}
			return call(ctx, f, p, id)
		}
	}
	withRun := func(call func(ctx context.Context, f *fixture, p proj, id int64, r hookRun) error) sdkCall {
		return withPolicy(func(ctx context.Context, f *fixture, p proj, id int64) error {
			r, err := once(ctx, f, "webhook run", func(ctx context.Context) (hookRun, error) { return f.runWebhook(ctx, p, id) })
			if err != nil {
				return err
			}
			return call(ctx, f, p, id, r)
		})
	}
	return map[string]sdkCall{
		"GetSupportedEventTypes": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Webhook.GetSupportedEventTypes(ctx, webhook.NewGetSupportedEventTypesParams().WithProjectNameOrID(p.ref()))
			return err
		},
		"CreateWebhookPolicyOfProject": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-webhook"))
			if err != nil {
				return err
			}
			_, err = f.createWebhook(ctx, p)
			return err
		},
		"ListWebhookPoliciesOfProject": withPolicy(func(ctx context.Context, f *fixture, p proj, _ int64) error {
			_, err := f.c.Webhook.ListWebhookPoliciesOfProject(ctx, webhook.NewListWebhookPoliciesOfProjectParams().
				WithProjectNameOrID(p.ref()))
			return err
		}),
		"GetWebhookPolicyOfProject": withPolicy(func(ctx context.Context, f *fixture, p proj, id int64) error {
			_, err := f.c.Webhook.GetWebhookPolicyOfProject(ctx, webhook.NewGetWebhookPolicyOfProjectParams().
				WithProjectNameOrID(p.ref()).WithWebhookPolicyID(id))
			return err
		}),
		"UpdateWebhookPolicyOfProject": withPolicy(func(ctx context.Context, f *fixture, p proj, id int64) error {
			_, err := f.c.Webhook.UpdateWebhookPolicyOfProject(ctx, webhook.NewUpdateWebhookPolicyOfProjectParams().
				WithProjectNameOrID(p.ref()).WithWebhookPolicyID(id).WithPolicy(webhookPolicy(f.receiver.URL, "updated")))
			return err
		}),
		"DeleteWebhookPolicyOfProject": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-webhook"))
			if err != nil {
				return err
			}
			id, err := f.createWebhook(ctx, p)
			if err != nil {
				return setup("CreateWebhookPolicyOfProject", err)
			}
			_, err = f.c.Webhook.DeleteWebhookPolicyOfProject(ctx, webhook.NewDeleteWebhookPolicyOfProjectParams().
				WithProjectNameOrID(p.ref()).WithWebhookPolicyID(id))
			return err
		},
		"LastTrigger": withRun(func(ctx context.Context, f *fixture, p proj, _ int64, _ hookRun) error {
			_, err := f.c.Webhook.LastTrigger(ctx, webhook.NewLastTriggerParams().WithProjectNameOrID(p.ref()))
			return err
		}),
		"ListExecutionsOfWebhookPolicy": withRun(func(ctx context.Context, f *fixture, p proj, id int64, _ hookRun) error {
			_, err := f.c.Webhook.ListExecutionsOfWebhookPolicy(ctx, webhook.NewListExecutionsOfWebhookPolicyParams().
				WithProjectNameOrID(p.ref()).WithWebhookPolicyID(id))
			return err
		}),
		"ListTasksOfWebhookExecution": withRun(func(ctx context.Context, f *fixture, p proj, id int64, r hookRun) error {
			_, err := f.c.Webhook.ListTasksOfWebhookExecution(ctx, webhook.NewListTasksOfWebhookExecutionParams().
				WithProjectNameOrID(p.ref()).WithWebhookPolicyID(id).WithExecutionID(r.execution))
			return err
		}),
		"GetLogsOfWebhookTask": withRun(func(ctx context.Context, f *fixture, p proj, id int64, r hookRun) error {
			_, err := f.c.Webhook.GetLogsOfWebhookTask(ctx, webhook.NewGetLogsOfWebhookTaskParams().
				WithProjectNameOrID(p.ref()).WithWebhookPolicyID(id).WithExecutionID(r.execution).WithTaskID(r.task))
			return err
		}),
		"ListWebhookJobs": withRun(func(ctx context.Context, f *fixture, p proj, id int64, _ hookRun) error {
			_, err := f.c.Webhookjob.ListWebhookJobs(ctx, webhookjob.NewListWebhookJobsParams().
				WithProjectNameOrID(p.ref()).WithPolicyID(id))
			return err
		}),
	}
}

func webhookPolicy(target, description string) *models.WebhookPolicy {
	return &models.WebhookPolicy{Name: "sdk-hook", Description: description, Enabled: true,
		EventTypes: []string{"PUSH_ARTIFACT"},
		Targets:    []*models.WebhookTargetObject{{Type: "http", Address: target, PayloadFormat: "Default"}}}
}

// createWebhook gives p a webhook policy and returns its id.
func (f *fixture) createWebhook(ctx context.Context, p proj) (int64, error) {
	created, err := f.c.Webhook.CreateWebhookPolicyOfProject(ctx, webhook.NewCreateWebhookPolicyOfProjectParams().
		WithProjectNameOrID(p.ref()).WithPolicy(webhookPolicy(f.receiver.URL, "pushes")))
	if err != nil {
		return 0, err
	}
	return idFrom(created.Location)
}

// runWebhook pushes to p and waits for policy id's execution and task.
func (f *fixture) runWebhook(ctx context.Context, p proj, id int64) (hookRun, error) {
	var r hookRun
	if _, err := f.pushImage(ctx, p.name, "hooked", "v1"); err != nil {
		return r, err
	}
	err := poll(ctx, "a webhook execution", func() (bool, error) {
		list, err := f.c.Webhook.ListExecutionsOfWebhookPolicy(ctx, webhook.NewListExecutionsOfWebhookPolicyParams().
			WithProjectNameOrID(p.ref()).WithWebhookPolicyID(id))
		if err != nil || len(list.Payload) == 0 {
			return false, err
		}
		r.execution = list.Payload[0].ID
		return true, nil
	})
	if err != nil {
		return r, err
	}
	tasks, err := f.c.Webhook.ListTasksOfWebhookExecution(ctx, webhook.NewListTasksOfWebhookExecutionParams().
		WithProjectNameOrID(p.ref()).WithWebhookPolicyID(id).WithExecutionID(r.execution))
	if err != nil {
		return r, err
	}
	if len(tasks.Payload) == 0 {
		return r, fmt.Errorf("webhook execution %d has no task", r.execution)
	}
	r.task = tasks.Payload[0].ID
	return r, nil
}
