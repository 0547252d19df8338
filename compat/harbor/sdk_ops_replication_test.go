package harbor_test

import (
	"context"
	"fmt"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/registry"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/replication"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// replicationRun is a finished replication execution with one task.
type replicationRun struct{ execution, task int64 }

// replicationCalls: the registry and replication tags. The registry is
// the server itself (as a docker-registry endpoint); the policy pushes
// project() into the project sdk-replica.
func replicationCalls() map[string]sdkCall {
	withRegistry := func(call func(ctx context.Context, f *fixture, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := once(ctx, f, "registry", f.createRegistry)
			if err != nil {
				return err
			}
			return call(ctx, f, id)
		}
	}
	withPolicy := func(call func(ctx context.Context, f *fixture, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := once(ctx, f, "replication policy", f.createReplicationPolicy)
			if err != nil {
				return err
			}
			return call(ctx, f, id)
		}
	}
	withRun := func(call func(ctx context.Context, f *fixture, r replicationRun) error) sdkCall {
		return withPolicy(func(ctx context.Context, f *fixture, id int64) error {
			r, err := once(ctx, f, "replication run", func(ctx context.Context) (replicationRun, error) {
				return f.runReplication(ctx, id)
			})
			if err != nil {
				return err
			}
			return call(ctx, f, r)
		})
	}
	return map[string]sdkCall{
		"listRegistryProviderTypes": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Registry.ListRegistryProviderTypes(ctx, registry.NewListRegistryProviderTypesParams())
			return err
		},
		"listRegistryProviderInfos": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Registry.ListRegistryProviderInfos(ctx, registry.NewListRegistryProviderInfosParams())
			return err
		},
		"createRegistry": func(ctx context.Context, f *fixture) error {
			_, err := f.createRegistry(ctx)
			return err
		},
		"pingRegistry": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Registry.PingRegistry(ctx, registry.NewPingRegistryParams().WithRegistry(&models.RegistryPing{
				Type: ptr("docker-registry"), URL: ptr(serverURL), CredentialType: ptr("basic"),
				AccessKey: ptr(adminUser), AccessSecret: ptr(adminPassword), Insecure: ptr(true)}))
			return err
		},
		"listRegistries": withRegistry(func(ctx context.Context, f *fixture, _ int64) error {
			got, err := f.c.Registry.ListRegistries(ctx, registry.NewListRegistriesParams())
			if err == nil && len(got.Payload) == 0 {
				return checkf("no registry listed")
			}
			return err
		}),
		"getRegistry": withRegistry(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Registry.GetRegistry(ctx, registry.NewGetRegistryParams().WithID(id))
			return err
		}),
		"getRegistryInfo": withRegistry(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Registry.GetRegistryInfo(ctx, registry.NewGetRegistryInfoParams().WithID(id))
			return err
		}),
		"updateRegistry": withRegistry(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Registry.UpdateRegistry(ctx, registry.NewUpdateRegistryParams().WithID(id).
				WithRegistry(&models.RegistryUpdate{Description: ptr("this server")}))
			return err
		}),
		"deleteRegistry": func(ctx context.Context, f *fixture) error {
			id, err := f.createRegistry(ctx)
			if err != nil {
				return setup("createRegistry", err)
			}
			_, err = f.c.Registry.DeleteRegistry(ctx, registry.NewDeleteRegistryParams().WithID(id))
			return err
		},

		"createReplicationPolicy": func(ctx context.Context, f *fixture) error {
			_, err := f.createReplicationPolicy(ctx)
			return err
		},
		"listReplicationPolicies": withPolicy(func(ctx context.Context, f *fixture, _ int64) error {
			_, err := f.c.Replication.ListReplicationPolicies(ctx, replication.NewListReplicationPoliciesParams())
			return err
		}),
		"getReplicationPolicy": withPolicy(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Replication.GetReplicationPolicy(ctx, replication.NewGetReplicationPolicyParams().WithID(id))
			return err
		}),
		"updateReplicationPolicy": withPolicy(func(ctx context.Context, f *fixture, id int64) error {
			got, err := f.c.Replication.GetReplicationPolicy(ctx, replication.NewGetReplicationPolicyParams().WithID(id))
			if err != nil {
				return setup("getReplicationPolicy", err)
			}
			pol := got.Payload
			pol.Description = "updated"
			_, err = f.c.Replication.UpdateReplicationPolicy(ctx, replication.NewUpdateReplicationPolicyParams().WithID(id).
				WithPolicy(pol))
			return err
		}),
		"deleteReplicationPolicy": func(ctx context.Context, f *fixture) error {
			id, err := f.createReplicationPolicy(ctx)
			if err != nil {
				return setup("createReplicationPolicy", err)
			}
			_, err = f.c.Replication.DeleteReplicationPolicy(ctx, replication.NewDeleteReplicationPolicyParams().WithID(id))
			return err
		},
		"startReplication": withPolicy(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.runReplication(ctx, id)
			return err
		}),
		"listReplicationExecutions": withRun(func(ctx context.Context, f *fixture, _ replicationRun) error {
			_, err := f.c.Replication.ListReplicationExecutions(ctx, replication.NewListReplicationExecutionsParams())
			return err
		}),
		"getReplicationExecution": withRun(func(ctx context.Context, f *fixture, r replicationRun) error {
			_, err := f.c.Replication.GetReplicationExecution(ctx, replication.NewGetReplicationExecutionParams().WithID(r.execution))
			return err
		}),
		"listReplicationTasks": withRun(func(ctx context.Context, f *fixture, r replicationRun) error {
			_, err := f.c.Replication.ListReplicationTasks(ctx, replication.NewListReplicationTasksParams().WithID(r.execution))
			return err
		}),
		"getReplicationLog": withRun(func(ctx context.Context, f *fixture, r replicationRun) error {
			_, err := f.c.Replication.GetReplicationLog(ctx, replication.NewGetReplicationLogParams().WithID(r.execution).
				WithTaskID(r.task))
			return err
		}),
		"stopReplication": withRun(func(ctx context.Context, f *fixture, r replicationRun) error {
			_, err := f.c.Replication.StopReplication(ctx, replication.NewStopReplicationParams().WithID(r.execution))
			return err
		}),
	}
}

// createRegistry registers the server itself and returns the id.
func (f *fixture) createRegistry(ctx context.Context) (int64, error) {
	created, err := f.c.Registry.CreateRegistry(ctx, registry.NewCreateRegistryParams().WithRegistry(&models.Registry{
		Name: f.unique("sdk-self"), Type: "docker-registry", URL: serverURL, Insecure: true,
		Credential: &models.RegistryCredential{Type: "basic", AccessKey: adminUser, AccessSecret: adminPassword}}))
	if err != nil {
		return 0, err
	}
	return idFrom(created.Location)
}

// createReplicationPolicy makes a manual push policy from project() to
// sdk-replica on registry() and returns its id.
func (f *fixture) createReplicationPolicy(ctx context.Context) (int64, error) {
	p, _, err := f.image(ctx)
	if err != nil {
		return 0, err
	}
	reg, err := once(ctx, f, "registry", f.createRegistry)
	if err != nil {
		return 0, err
	}
	if _, err := once(ctx, f, "replica project", func(ctx context.Context) (proj, error) {
		return f.createProject(ctx, "sdk-replica")
	}); err != nil {
		return 0, err
	}
	created, err := f.c.Replication.CreateReplicationPolicy(ctx, replication.NewCreateReplicationPolicyParams().
		WithPolicy(&models.ReplicationPolicy{
			Name: f.unique("sdk-push"), Enabled: true, DestRegistry: &models.Registry{ID: reg}, DestNamespace: "sdk-replica",
			Filters: []*models.ReplicationFilter{{Type: "name", Value: p.name + "/**"}},
			Trigger: &models.ReplicationTrigger{Type: "manual"}, Override: true,
		}))
	if err != nil {
		return 0, err
	}
	return idFrom(created.Location)
}

// runReplication starts policy id and waits for the execution to end.
func (f *fixture) runReplication(ctx context.Context, id int64) (replicationRun, error) {
	var r replicationRun
	started, err := f.c.Replication.StartReplication(ctx, replication.NewStartReplicationParams().
		WithExecution(&models.StartReplicationExecution{PolicyID: id}))
	if err != nil {
		return r, err
	}
	if r.execution, err = idFrom(started.Location); err != nil {
		return r, err
	}
	err = poll(ctx, "a finished replication", func() (bool, error) {
		got, err := f.c.Replication.GetReplicationExecution(ctx, replication.NewGetReplicationExecutionParams().WithID(r.execution))
		if err != nil {
			return false, err
		}
		return finished(got.Payload.Status), nil
	})
	if err != nil {
		return r, err
	}
	tasks, err := f.c.Replication.ListReplicationTasks(ctx, replication.NewListReplicationTasksParams().WithID(r.execution))
	if err != nil {
		return r, err
	}
	if len(tasks.Payload) == 0 {
		return r, fmt.Errorf("replication execution %d has no task", r.execution)
	}
	r.task = tasks.Payload[0].ID
	return r, nil
}
