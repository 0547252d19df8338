package api

import (
	"context"
	"github.com/berthlabs/berth/core"
	"net/http"

	"github.com/berthlabs/berth/replicate"
)

// ReplicationEndpoints manages the registries replication talks to.
type ReplicationEndpoints interface {
	CreateEndpoint(ctx context.Context, e replicate.Endpoint) (int64, error)
	UpdateEndpoint(ctx context.Context, e replicate.Endpoint) error
	DeleteEndpoint(ctx context.Context, id int64) error
	Endpoint(ctx context.Context, id int64) (*replicate.Endpoint, error)
	Endpoints(ctx context.Context, name string, page core.Page) ([]replicate.Endpoint, int, error)
}

// ReplicationPolicies manages replication policies.
type ReplicationPolicies interface {
	CreatePolicy(ctx context.Context, p replicate.Policy) (int64, error)
	UpdatePolicy(ctx context.Context, p replicate.Policy) error
	DeletePolicy(ctx context.Context, id int64) error
	Policy(ctx context.Context, id int64) (*replicate.Policy, error)
	Policies(ctx context.Context, name string, page core.Page) ([]replicate.Policy, int, error)
}

// ReplicationExecutions starts, stops and reports executions.
type ReplicationExecutions interface {
	StartExecution(ctx context.Context, policyID int64, trigger replicate.TriggerType) (int64, error)
	StopExecution(ctx context.Context, id int64) error
	Execution(ctx context.Context, id int64) (*replicate.Execution, error)
	Executions(ctx context.Context, policyID int64, status replicate.Status, page core.Page) ([]replicate.Execution, int, error)
	Tasks(ctx context.Context, executionID int64, page core.Page) ([]replicate.Task, int, error)
	TaskLog(ctx context.Context, executionID, taskID int64) (string, error)
}

// Replicator is everything the replication endpoints need;
// *replicate.Service implements it.
type Replicator interface {
	ReplicationEndpoints
	ReplicationPolicies
	ReplicationExecutions
	// PingEndpoint checks a registry's health: a stored one (ID set) or
	// one described in full.
	PingEndpoint(ctx context.Context, e replicate.Endpoint) error
}

// replDeps are the components behind the replication endpoints.
type replDeps struct {
	r Replicator
}

// WithReplication serves Harbor's registry and replication endpoints
// (system administrators only) over r.
func WithReplication(r Replicator) Option {
	return func(c *config) { c.repl = replDeps{r: r} }
}

// replicationRoutes are the replication endpoints; none unless
// WithReplication supplied a Replicator.
func (a *API) replicationRoutes() []route {
	if a.cfg.repl.r == nil {
		return nil
	}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	q := param{"q", "string", "Filter: name=~substring or name=value", false}
	return []route{
		{method: get, path: "/registries", id: "listRegistries", tag: "registry",
			summary: "List the registries replication talks to (system admins; q key: name)",
			query: append([]param{q, {"name", "string", "Keep registries whose name contains this", false},
				{"health", "boolean", "berth: check each listed registry's health and report it in status", false}, sorting}, paging...),
			resp: []Registry{}, paged: true, handle: a.listRegistries},
		{method: post, path: "/registries", id: "createRegistry", tag: "registry", summary: "Add a registry (system admins)",
			body: Registry{}, status: http.StatusCreated, handle: a.createRegistry},
		{method: post, path: "/registries/ping", id: "pingRegistry", tag: "registry",
			summary: "Check a stored registry (id) or one described in full (system admins)", body: RegistryPing{}, handle: a.pingRegistry},
		{method: get, path: "/registries/{id}", id: "getRegistry", tag: "registry", summary: "Get a registry (system admins)",
			resp: Registry{}, handle: a.getRegistry},
		{method: put, path: "/registries/{id}", id: "updateRegistry", tag: "registry",
			summary: "Change a registry; a credential without access_secret keeps the stored one (system admins)",
			body:    Registry{}, handle: a.updateRegistry},
		{method: del, path: "/registries/{id}", id: "deleteRegistry", tag: "registry",
			summary: "Delete a registry no policy or proxy cache project uses (system admins)", handle: a.deleteRegistry},
		{method: get, path: "/replication/adapters", id: "listRegistryProviderTypes", tag: "registry",
			summary: "The registry types a registry may have (system admins)", resp: []string{}, handle: a.listAdapters},

		{method: get, path: "/replication/policies", id: "listReplicationPolicies", tag: "replication",
			summary: "List replication policies (system admins; q key: name)",
			query:   append([]param{q, {"name", "string", "Keep policies whose name contains this", false}, sorting}, paging...),
			resp:    []ReplicationPolicy{}, paged: true, handle: a.listPolicies},
		{method: post, path: "/replication/policies", id: "createReplicationPolicy", tag: "replication",
			summary: "Create a replication policy (system admins)", body: ReplicationPolicy{}, status: http.StatusCreated,
			handle: a.createPolicy},
		{method: get, path: "/replication/policies/{id}", id: "getReplicationPolicy", tag: "replication",
			summary: "Get a replication policy (system admins)", resp: ReplicationPolicy{}, handle: a.getPolicy},
		{method: put, path: "/replication/policies/{id}", id: "updateReplicationPolicy", tag: "replication",
			summary: "Replace a replication policy (system admins)", body: ReplicationPolicy{}, handle: a.updatePolicy},
		{method: del, path: "/replication/policies/{id}", id: "deleteReplicationPolicy", tag: "replication",
			summary: "Delete a replication policy with no running execution (system admins)", handle: a.deletePolicy},

		{method: get, path: "/replication/executions", id: "listReplicationExecutions", tag: "replication",
			summary: "List executions, newest first (system admins)",
			query: append([]param{{"policy_id", "integer", "Keep one policy's executions", false},
				{"status", "string", "Keep executions with this status", false}, sorting}, paging...),
			resp: []ReplicationExecution{}, paged: true, handle: a.listExecutions},
		{method: post, path: "/replication/executions", id: "startReplication", tag: "replication",
			summary: "Start a policy now (system admins)", body: StartReplicationExecution{}, status: http.StatusCreated,
			handle: a.startExecution},
		{method: get, path: "/replication/executions/{id}", id: "getReplicationExecution", tag: "replication",
			summary: "Get an execution (system admins)", resp: ReplicationExecution{}, handle: a.getExecution},
		{method: put, path: "/replication/executions/{id}", id: "stopReplication", tag: "replication",
			summary: "Stop a running execution (system admins)", handle: a.stopExecution},
		{method: get, path: "/replication/executions/{id}/tasks", id: "listReplicationTasks", tag: "replication",
			summary: "List an execution's tasks, one per artifact (system admins)", query: append([]param{sorting}, paging...),
			resp: []ReplicationTask{}, paged: true, handle: a.listTasks},
		{method: get, path: "/replication/executions/{id}/tasks/{task_id}/log", id: "getReplicationLog", tag: "replication",
			summary: "A task's log (system admins)", text: true, handle: a.taskLog},
	}
}
