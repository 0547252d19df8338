package harbor_test

import (
	"context"
	"fmt"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/immutable"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/retention"
)

// retentionRun is a finished retention execution with one of its tasks.
type retentionRun struct{ policy, execution, task int64 }

// policyCalls: the Retention and immutable tags.
func policyCalls() map[string]sdkCall {
	withPolicy := func(call func(ctx context.Context, f *fixture, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := once(ctx, f, "retention policy", func(ctx context.Context) (int64, error) {
				p, _, err := f.image(ctx)
				if err != nil {
					return 0, err
				}
				return f.createRetention(ctx, p)
			})
			if err != nil {
				return err
			}
			return call(ctx, f, id)
		}
	}
	withRun := func(call func(ctx context.Context, f *fixture, r retentionRun) error) sdkCall {
		return withPolicy(func(ctx context.Context, f *fixture, id int64) error {
			r, err := once(ctx, f, "retention run", func(ctx context.Context) (retentionRun, error) { return f.runRetention(ctx, id) })
			if err != nil {
				return err
			}
			return call(ctx, f, r)
		})
	}
	withRule := func(call func(ctx context.Context, f *fixture, p proj, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			id, err := once(ctx, f, "immutable rule", func(ctx context.Context) (int64, error) { return f.createImmuRule(ctx, p) })
			if err != nil {
				return err
			}
			return call(ctx, f, p, id)
		}
	}
	return map[string]sdkCall{
		"getRentenitionMetadata": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Retention.GetRentenitionMetadata(ctx, retention.NewGetRentenitionMetadataParams())
			return err
		},
		"createRetention": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-retention"))
			if err != nil {
				return err
			}
			_, err = f.createRetention(ctx, p)
			return err
		},
		"getRetention": withPolicy(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Retention.GetRetention(ctx, retention.NewGetRetentionParams().WithID(id))
			return err
		}),
		"updateRetention": withPolicy(func(ctx context.Context, f *fixture, id int64) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Retention.UpdateRetention(ctx, retention.NewUpdateRetentionParams().WithID(id).
				WithPolicy(retentionPolicy(p.id, 5, "0 0 2 * * *")))
			return err
		}),
		"deleteRetention": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-retention"))
			if err != nil {
				return err
			}
			id, err := f.createRetention(ctx, p)
			if err != nil {
				return setup("createRetention", err)
			}
			_, err = f.c.Retention.DeleteRetention(ctx, retention.NewDeleteRetentionParams().WithID(id))
			return err
		},
		"triggerRetentionExecution": withPolicy(func(ctx context.Context, f *fixture, id int64) error {
			_, _, err := f.c.Retention.TriggerRetentionExecution(ctx, retention.NewTriggerRetentionExecutionParams().WithID(id).
				WithBody(retention.TriggerRetentionExecutionBody{DryRun: true}))
			return err
		}),
		"listRetentionExecutions": withRun(func(ctx context.Context, f *fixture, r retentionRun) error {
			_, err := f.c.Retention.ListRetentionExecutions(ctx, retention.NewListRetentionExecutionsParams().WithID(r.policy))
			return err
		}),
		"listRetentionTasks": withRun(func(ctx context.Context, f *fixture, r retentionRun) error {
			_, err := f.c.Retention.ListRetentionTasks(ctx, retention.NewListRetentionTasksParams().WithID(r.policy).
				WithEid(r.execution))
			return err
		}),
		"getRetentionTaskLog": withRun(func(ctx context.Context, f *fixture, r retentionRun) error {
			_, err := f.c.Retention.GetRetentionTaskLog(ctx, retention.NewGetRetentionTaskLogParams().WithID(r.policy).
				WithEid(r.execution).WithTid(r.task))
			return err
		}),
		"operateRetentionExecution": withRun(func(ctx context.Context, f *fixture, r retentionRun) error {
			_, err := f.c.Retention.OperateRetentionExecution(ctx, retention.NewOperateRetentionExecutionParams().
				WithID(r.policy).WithEid(r.execution).WithBody(retention.OperateRetentionExecutionBody{Action: "stop"}))
			return err
		}),

		"CreateImmuRule": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-immutable"))
			if err != nil {
				return err
			}
			_, err = f.createImmuRule(ctx, p)
			return err
		},
		"ListImmuRules": withRule(func(ctx context.Context, f *fixture, p proj, _ int64) error {
			got, err := f.c.Immutable.ListImmuRules(ctx, immutable.NewListImmuRulesParams().WithProjectNameOrID(p.ref()))
			if err == nil && len(got.Payload) == 0 {
				return checkf("no immutability rule listed")
			}
			return err
		}),
		"UpdateImmuRule": withRule(func(ctx context.Context, f *fixture, p proj, id int64) error {
			_, err := f.c.Immutable.UpdateImmuRule(ctx, immutable.NewUpdateImmuRuleParams().WithProjectNameOrID(p.ref()).
				WithImmutableRuleID(id).WithImmutableRule(immutableRule("release-*", false)))
			return err
		}),
		"DeleteImmuRule": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-immutable"))
			if err != nil {
				return err
			}
			id, err := f.createImmuRule(ctx, p)
			if err != nil {
				return setup("CreateImmuRule", err)
			}
			_, err = f.c.Immutable.DeleteImmuRule(ctx, immutable.NewDeleteImmuRuleParams().WithProjectNameOrID(p.ref()).
				WithImmutableRuleID(id))
			return err
		},
	}
}

// createRetention gives p a retention policy and returns its id.
func (f *fixture) createRetention(ctx context.Context, p proj) (int64, error) {
	created, err := f.c.Retention.CreateRetention(ctx, retention.NewCreateRetentionParams().
		WithPolicy(retentionPolicy(p.id, 3, "")))
	if err != nil {
		return 0, err
	}
	return idFrom(created.Location)
}

// runRetention runs policy id as a dry run to its end.
func (f *fixture) runRetention(ctx context.Context, id int64) (retentionRun, error) {
	r := retentionRun{policy: id}
	if _, _, err := f.c.Retention.TriggerRetentionExecution(ctx, retention.NewTriggerRetentionExecutionParams().WithID(id).
		WithBody(retention.TriggerRetentionExecutionBody{DryRun: true})); err != nil {
		return r, fmt.Errorf("triggerRetentionExecution: %w", err)
	}
	err := poll(ctx, "a finished retention run", func() (bool, error) {
		list, err := f.c.Retention.ListRetentionExecutions(ctx, retention.NewListRetentionExecutionsParams().WithID(id))
		if err != nil || len(list.Payload) == 0 {
			return false, err
		}
		r.execution = list.Payload[0].ID
		return finished(list.Payload[0].Status), nil
	})
	if err != nil {
		return r, err
	}
	tasks, err := f.c.Retention.ListRetentionTasks(ctx, retention.NewListRetentionTasksParams().WithID(id).WithEid(r.execution))
	if err != nil {
		return r, fmt.Errorf("listRetentionTasks: %w", err)
	}
	if len(tasks.Payload) == 0 {
		return r, fmt.Errorf("retention execution %d has no task", r.execution)
	}
	r.task = tasks.Payload[0].ID
	return r, nil
}

// createImmuRule gives p an immutability rule and returns its id.
func (f *fixture) createImmuRule(ctx context.Context, p proj) (int64, error) {
	created, err := f.c.Immutable.CreateImmuRule(ctx, immutable.NewCreateImmuRuleParams().WithProjectNameOrID(p.ref()).
		WithImmutableRule(immutableRule("release-*", false)))
	if err != nil {
		return 0, err
	}
	return idFrom(created.Location)
}
