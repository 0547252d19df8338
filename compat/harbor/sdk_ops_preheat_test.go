package harbor_test

import (
	"context"
	"fmt"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/preheat"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// preheatRun is an execution of the preheat policy with one task.
type preheatRun struct{ execution, task int64 }

// preheatCalls: the preheat tag (P2P distribution), with a Dragonfly
// instance nobody listens at.
func preheatCalls() map[string]sdkCall {
	withInstance := func(call func(ctx context.Context, f *fixture, name string, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := once(ctx, f, "preheat instance", func(ctx context.Context) (int64, error) {
				return f.createInstance(ctx, "sdk-p2p")
			})
			if err != nil {
				return err
			}
			return call(ctx, f, "sdk-p2p", id)
		}
	}
	withPolicy := func(call func(ctx context.Context, f *fixture, p proj, name string) error) sdkCall {
		return withInstance(func(ctx context.Context, f *fixture, _ string, instance int64) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			if _, err := once(ctx, f, "preheat policy", func(ctx context.Context) (bool, error) {
				return true, f.createPreheatPolicy(ctx, p, instance, "sdk-preheat")
			}); err != nil {
				return err
			}
			return call(ctx, f, p, "sdk-preheat")
		})
	}
	withRun := func(call func(ctx context.Context, f *fixture, p proj, name string, r preheatRun) error) sdkCall {
		return withPolicy(func(ctx context.Context, f *fixture, p proj, name string) error {
			r, err := once(ctx, f, "preheat run", func(ctx context.Context) (preheatRun, error) { return f.runPreheat(ctx, p, name) })
			if err != nil {
				return err
			}
			return call(ctx, f, p, name, r)
		})
	}
	return map[string]sdkCall{
		"ListProviders": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Preheat.ListProviders(ctx, preheat.NewListProvidersParams())
			return err
		},
		"ListProvidersUnderProject": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Preheat.ListProvidersUnderProject(ctx, preheat.NewListProvidersUnderProjectParams().WithProjectName(p.name))
			return err
		},
		"PingInstances": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Preheat.PingInstances(ctx, preheat.NewPingInstancesParams().WithInstance(p2pInstance("ping")))
			return err
		},
		"CreateInstance": func(ctx context.Context, f *fixture) error {
			_, err := f.createInstance(ctx, f.unique("sdk-p2p"))
			return err
		},
		"ListInstances": withInstance(func(ctx context.Context, f *fixture, _ string, _ int64) error {
			_, err := f.c.Preheat.ListInstances(ctx, preheat.NewListInstancesParams())
			return err
		}),
		"GetInstance": withInstance(func(ctx context.Context, f *fixture, name string, _ int64) error {
			_, err := f.c.Preheat.GetInstance(ctx, preheat.NewGetInstanceParams().WithPreheatInstanceName(name))
			return err
		}),
		"UpdateInstance": withInstance(func(ctx context.Context, f *fixture, name string, _ int64) error {
			in := p2pInstance(name)
			in.Description = "updated"
			_, err := f.c.Preheat.UpdateInstance(ctx, preheat.NewUpdateInstanceParams().WithPreheatInstanceName(name).WithInstance(in))
			return err
		}),
		"DeleteInstance": func(ctx context.Context, f *fixture) error {
			name := f.unique("sdk-p2p")
			if _, err := f.createInstance(ctx, name); err != nil {
				return setup("CreateInstance", err)
			}
			_, err := f.c.Preheat.DeleteInstance(ctx, preheat.NewDeleteInstanceParams().WithPreheatInstanceName(name))
			return err
		},
		"CreatePolicy": withInstance(func(ctx context.Context, f *fixture, _ string, instance int64) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			return f.createPreheatPolicy(ctx, p, instance, f.unique("sdk-preheat"))
		}),
		"ListPolicies": withPolicy(func(ctx context.Context, f *fixture, p proj, _ string) error {
			_, err := f.c.Preheat.ListPolicies(ctx, preheat.NewListPoliciesParams().WithProjectName(p.name))
			return err
		}),
		"GetPolicy": withPolicy(func(ctx context.Context, f *fixture, p proj, name string) error {
			_, err := f.c.Preheat.GetPolicy(ctx, preheat.NewGetPolicyParams().WithProjectName(p.name).WithPreheatPolicyName(name))
			return err
		}),
		"UpdatePolicy": withPolicy(func(ctx context.Context, f *fixture, p proj, name string) error {
			got, err := f.c.Preheat.GetPolicy(ctx, preheat.NewGetPolicyParams().WithProjectName(p.name).WithPreheatPolicyName(name))
			if err != nil {
				return setup("GetPolicy", err)
			}
			pol := got.Payload
			pol.Description = "updated"
			_, err = f.c.Preheat.UpdatePolicy(ctx, preheat.NewUpdatePolicyParams().WithProjectName(p.name).
				WithPreheatPolicyName(name).WithPolicy(pol))
			return err
		}),
		"DeletePolicy": withInstance(func(ctx context.Context, f *fixture, _ string, instance int64) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			name := f.unique("sdk-preheat")
			if err := f.createPreheatPolicy(ctx, p, instance, name); err != nil {
				return setup("CreatePolicy", err)
			}
			_, err = f.c.Preheat.DeletePolicy(ctx, preheat.NewDeletePolicyParams().WithProjectName(p.name).WithPreheatPolicyName(name))
			return err
		}),
		"ManualPreheat": withPolicy(func(ctx context.Context, f *fixture, p proj, name string) error {
			_, err := f.c.Preheat.ManualPreheat(ctx, preheat.NewManualPreheatParams().WithProjectName(p.name).
				WithPreheatPolicyName(name).WithPolicy(&models.PreheatPolicy{}))
			return err
		}),
		"ListExecutions": withRun(func(ctx context.Context, f *fixture, p proj, name string, _ preheatRun) error {
			_, err := f.c.Preheat.ListExecutions(ctx, preheat.NewListExecutionsParams().WithProjectName(p.name).
				WithPreheatPolicyName(name))
			return err
		}),
		"GetExecution": withRun(func(ctx context.Context, f *fixture, p proj, name string, r preheatRun) error {
			_, err := f.c.Preheat.GetExecution(ctx, preheat.NewGetExecutionParams().WithProjectName(p.name).
				WithPreheatPolicyName(name).WithExecutionID(r.execution))
			return err
		}),
		"ListTasks": withRun(func(ctx context.Context, f *fixture, p proj, name string, r preheatRun) error {
			_, err := f.c.Preheat.ListTasks(ctx, preheat.NewListTasksParams().WithProjectName(p.name).
				WithPreheatPolicyName(name).WithExecutionID(r.execution))
			return err
		}),
		"GetPreheatLog": withRun(func(ctx context.Context, f *fixture, p proj, name string, r preheatRun) error {
			_, err := f.c.Preheat.GetPreheatLog(ctx, preheat.NewGetPreheatLogParams().WithProjectName(p.name).
				WithPreheatPolicyName(name).WithExecutionID(r.execution).WithTaskID(r.task))
			return err
		}),
		"StopExecution": withRun(func(ctx context.Context, f *fixture, p proj, name string, r preheatRun) error {
			_, err := f.c.Preheat.StopExecution(ctx, preheat.NewStopExecutionParams().WithProjectName(p.name).
				WithPreheatPolicyName(name).WithExecutionID(r.execution).WithExecution(&models.Execution{Status: "Stopped"}))
			return err
		}),
	}
}

func p2pInstance(name string) *models.Instance {
	return &models.Instance{Name: name, Vendor: "dragonfly", Endpoint: "http://127.0.0.1:1", AuthMode: "NONE",
		Enabled: true, Insecure: true}
}

// createInstance registers a P2P provider instance and returns its id.
func (f *fixture) createInstance(ctx context.Context, name string) (int64, error) {
	created, err := f.c.Preheat.CreateInstance(ctx, preheat.NewCreateInstanceParams().WithInstance(p2pInstance(name)))
	if err != nil {
		return 0, err
	}
	return idFrom(created.Location)
}

// createPreheatPolicy gives p a manual preheat policy named name.
func (f *fixture) createPreheatPolicy(ctx context.Context, p proj, instance int64, name string) error {
	_, err := f.c.Preheat.CreatePolicy(ctx, preheat.NewCreatePolicyParams().WithProjectName(p.name).WithPolicy(&models.PreheatPolicy{
		Name: name, ProjectID: p.id, ProviderID: instance, Enabled: true,
		Filters: `[{"type":"repository","value":"**"},{"type":"tag","value":"**"}]`, Trigger: `{"type":"manual"}`}))
	return err
}

// runPreheat runs policy name and returns its first execution and task.
func (f *fixture) runPreheat(ctx context.Context, p proj, name string) (preheatRun, error) {
	var r preheatRun
	if _, err := f.c.Preheat.ManualPreheat(ctx, preheat.NewManualPreheatParams().WithProjectName(p.name).
		WithPreheatPolicyName(name).WithPolicy(&models.PreheatPolicy{})); err != nil {
		return r, err
	}
	list, err := f.c.Preheat.ListExecutions(ctx, preheat.NewListExecutionsParams().WithProjectName(p.name).
		WithPreheatPolicyName(name))
	if err != nil {
		return r, err
	}
	if len(list.Payload) == 0 {
		return r, fmt.Errorf("preheat policy %s has no execution", name)
	}
	r.execution = list.Payload[0].ID
	tasks, err := f.c.Preheat.ListTasks(ctx, preheat.NewListTasksParams().WithProjectName(p.name).
		WithPreheatPolicyName(name).WithExecutionID(r.execution))
	if err != nil {
		return r, err
	}
	if len(tasks.Payload) == 0 {
		return r, fmt.Errorf("preheat execution %d has no task", r.execution)
	}
	r.task = tasks.Payload[0].ID
	return r, nil
}
