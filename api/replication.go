package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/replicate"
)

// ReplicationEndpoints manages the registries replication talks to.
type ReplicationEndpoints interface {
	CreateEndpoint(ctx context.Context, e replicate.Endpoint) (int64, error)
	UpdateEndpoint(ctx context.Context, e replicate.Endpoint) error
	DeleteEndpoint(ctx context.Context, id int64) error
	Endpoint(ctx context.Context, id int64) (*replicate.Endpoint, error)
	Endpoints(ctx context.Context, name string, offset, limit int) ([]replicate.Endpoint, int, error)
}

// ReplicationPolicies manages replication policies.
type ReplicationPolicies interface {
	CreatePolicy(ctx context.Context, p replicate.Policy) (int64, error)
	UpdatePolicy(ctx context.Context, p replicate.Policy) error
	DeletePolicy(ctx context.Context, id int64) error
	Policy(ctx context.Context, id int64) (*replicate.Policy, error)
	Policies(ctx context.Context, name string, offset, limit int) ([]replicate.Policy, int, error)
}

// ReplicationExecutions starts, stops and reports executions.
type ReplicationExecutions interface {
	StartExecution(ctx context.Context, policyID int64, trigger replicate.TriggerType) (int64, error)
	StopExecution(ctx context.Context, id int64) error
	Execution(ctx context.Context, id int64) (*replicate.Execution, error)
	Executions(ctx context.Context, policyID int64, status replicate.Status, offset, limit int) ([]replicate.Execution, int, error)
	Tasks(ctx context.Context, executionID int64, offset, limit int) ([]replicate.Task, int, error)
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

// Registry is a registry replication talks to, in Harbor's shape.
type Registry struct {
	ID           int64               `json:"id"`
	Name         string              `json:"name"`
	Description  string              `json:"description"`
	Type         string              `json:"type" doc:"docker-registry (any OCI distribution registry)"`
	URL          string              `json:"url"`
	Insecure     bool                `json:"insecure" doc:"skip TLS certificate verification"`
	CACert       string              `json:"ca_cert,omitempty" doc:"berth: a PEM bundle to trust in addition to the system's"`
	Credential   *RegistryCredential `json:"credential,omitempty"`
	Status       string              `json:"status,omitempty" doc:"healthy or unhealthy, when asked for with health=true"`
	CreationTime time.Time           `json:"creation_time"`
	UpdateTime   time.Time           `json:"update_time"`
}

// RegistryCredential authenticates to a registry (Basic, or the bearer
// token flow with these credentials). The secret is never returned.
type RegistryCredential struct {
	Type         string `json:"type" doc:"basic"`
	AccessKey    string `json:"access_key"`
	AccessSecret string `json:"access_secret,omitempty" doc:"write-only; an update without it keeps the stored one"`
}

// RegistryPing names a stored registry (id) or describes one to check.
type RegistryPing struct {
	ID         int64               `json:"id,omitempty"`
	URL        string              `json:"url,omitempty"`
	Insecure   bool                `json:"insecure,omitempty"`
	Credential *RegistryCredential `json:"credential,omitempty"`
}

// RegistryRef names a registry in a policy; null or id 0 is this server.
type RegistryRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
}

// ReplicationTrigger says when a policy runs.
type ReplicationTrigger struct {
	Type            string                     `json:"type" doc:"manual, scheduled or event_based"`
	TriggerSettings *ReplicationTriggerSetting `json:"trigger_settings,omitempty"`
}

// ReplicationTriggerSetting holds a scheduled trigger's cron.
type ReplicationTriggerSetting struct {
	Cron string `json:"cron" doc:"cron expression: 6 fields with seconds first (Harbor's), or 5"`
}

// ReplicationFilter selects source artifacts.
type ReplicationFilter struct {
	Type       string `json:"type" doc:"name, tag, label or resource"`
	Value      string `json:"value" doc:"a glob (* ** ? {a,b}) for name, tag and resource; key or key=value for label"`
	Decoration string `json:"decoration,omitempty" doc:"matches (default) or excludes"`
}

// ReplicationPolicy is a replication policy, in Harbor's shape: a policy
// whose source is this server (src_registry null) pushes to dest_registry;
// one whose destination is this server pulls from src_registry.
type ReplicationPolicy struct {
	ID                        int64               `json:"id"`
	Name                      string              `json:"name"`
	Description               string              `json:"description"`
	SrcRegistry               *RegistryRef        `json:"src_registry"`
	DestRegistry              *RegistryRef        `json:"dest_registry"`
	DestNamespace             string              `json:"dest_namespace"`
	DestNamespaceReplaceCount *int                `json:"dest_namespace_replace_count,omitempty" doc:"leading path components replaced by dest_namespace; -1 keeps only the last (flatten); default 0"`
	Trigger                   *ReplicationTrigger `json:"trigger"`
	Filters                   []ReplicationFilter `json:"filters"`
	ReplicateDeletion         bool                `json:"replicate_deletion"`
	Override                  bool                `json:"override"`
	Enabled                   bool                `json:"enabled"`
	Speed                     int                 `json:"speed" doc:"bandwidth limit in KB/s; 0 or -1 unlimited"`
	CopyByChunk               bool                `json:"copy_by_chunk" doc:"berth always uploads in resumable chunks"`
	Concurrency               int                 `json:"concurrency,omitempty" doc:"berth: artifacts copied at once (default 4)"`
	CreationTime              time.Time           `json:"creation_time"`
	UpdateTime                time.Time           `json:"update_time"`
}

// StartReplicationExecution starts a policy now.
type StartReplicationExecution struct {
	PolicyID int64 `json:"policy_id"`
}

// ReplicationExecution is one run of a policy.
type ReplicationExecution struct {
	ID         int64      `json:"id"`
	PolicyID   int64      `json:"policy_id"`
	Status     string     `json:"status" doc:"InProgress, Succeed, Failed or Stopped"`
	StatusText string     `json:"status_text"`
	Trigger    string     `json:"trigger"`
	StartTime  time.Time  `json:"start_time"`
	EndTime    *time.Time `json:"end_time,omitempty"`
	Total      int        `json:"total"`
	Failed     int        `json:"failed"`
	Succeed    int        `json:"succeed"`
	InProgress int        `json:"in_progress"`
	Stopped    int        `json:"stopped"`
	Bytes      int64      `json:"bytes" doc:"berth: bytes written to the destination"`
}

// ReplicationTask is the replication of one artifact.
type ReplicationTask struct {
	ID           int64      `json:"id"`
	ExecutionID  int64      `json:"execution_id"`
	ResourceType string     `json:"resource_type" doc:"artifact"`
	SrcResource  string     `json:"src_resource"`
	DstResource  string     `json:"dst_resource"`
	Operation    string     `json:"operation" doc:"copy or deletion"`
	Status       string     `json:"status"`
	StartTime    *time.Time `json:"start_time,omitempty"`
	EndTime      *time.Time `json:"end_time,omitempty"`
	Bytes        int64      `json:"bytes" doc:"berth: bytes written to the destination"`
	Attempts     int        `json:"attempts" doc:"berth: how many times the task ran"`
}

// replicationRoutes are the replication endpoints; none unless
// WithReplication supplied a Replicator.
func (a *API) replicationRoutes() []route {
	if a.cfg.repl.r == nil {
		return nil
	}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	paging := []param{{"page", "integer", "Page number, from 1 (default 1)", false},
		{"page_size", "integer", "Page size, 1 to 100 (default 10)", false}}
	q := param{"q", "string", "Filter: name=~substring or name=value", false}
	return []route{
		{method: get, path: "/registries", id: "listRegistries", tag: "registry",
			summary: "List the registries replication talks to (system admins; q key: name)",
			query: append([]param{q, {"name", "string", "Keep registries whose name contains this", false},
				{"health", "boolean", "berth: check each listed registry's health and report it in status", false}}, paging...),
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
			summary: "Delete a registry no policy uses (system admins)", handle: a.deleteRegistry},

		{method: get, path: "/replication/policies", id: "listReplicationPolicies", tag: "replication",
			summary: "List replication policies (system admins; q key: name)",
			query:   append([]param{q, {"name", "string", "Keep policies whose name contains this", false}}, paging...),
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
				{"status", "string", "Keep executions with this status", false}}, paging...),
			resp: []ReplicationExecution{}, paged: true, handle: a.listExecutions},
		{method: post, path: "/replication/executions", id: "startReplication", tag: "replication",
			summary: "Start a policy now (system admins)", body: StartReplicationExecution{}, status: http.StatusCreated,
			handle: a.startExecution},
		{method: get, path: "/replication/executions/{id}", id: "getReplicationExecution", tag: "replication",
			summary: "Get an execution (system admins)", resp: ReplicationExecution{}, handle: a.getExecution},
		{method: put, path: "/replication/executions/{id}", id: "stopReplication", tag: "replication",
			summary: "Stop a running execution (system admins)", handle: a.stopExecution},
		{method: get, path: "/replication/executions/{id}/tasks", id: "listReplicationTasks", tag: "replication",
			summary: "List an execution's tasks, one per artifact (system admins)", query: paging,
			resp: []ReplicationTask{}, paged: true, handle: a.listTasks},
		{method: get, path: "/replication/executions/{id}/tasks/{task_id}/log", id: "getReplicationLog", tag: "replication",
			summary: "A task's log (system admins)", text: true, handle: a.taskLog},
	}
}

// replAdmin admits system administrators only.
func (c *call) replAdmin(act rbac.Action) error {
	return c.requireAdmin(permOn(rbac.ResourceConfiguration, act))
}

// replError turns the replication service's errors into answers.
func replError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, replicate.ErrNotFound):
		return notFound(err.Error())
	case errors.Is(err, replicate.ErrInvalid):
		return badRequest(err.Error())
	case errors.Is(err, replicate.ErrExists):
		return &apiError{http.StatusConflict, codeConflict, err.Error()}
	case errors.Is(err, replicate.ErrInUse):
		return &apiError{http.StatusPreconditionFailed, codePrecondition, err.Error()}
	}
	return err
}

func (c *call) pathID(name string) (int64, error) {
	v := c.r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound(fmt.Sprintf("%s %q: want a positive number", name, v))
	}
	return id, nil
}

// nameFilter reads the name filter of a listing (name=, or q=name=…).
func nameFilter(c *call) (string, error) {
	terms, err := parseQ(c.r.URL.Query().Get("q"), "name")
	if err != nil {
		return "", err
	}
	name := c.r.URL.Query().Get("name")
	if t, ok := terms["name"]; ok {
		name = t.value
	}
	return name, nil
}

// --- registries

func registryJSON(e *replicate.Endpoint) Registry {
	r := Registry{ID: e.ID, Name: e.Name, Description: e.Description, Type: "docker-registry", URL: e.URL,
		Insecure: e.Insecure, CACert: e.CACert, CreationTime: e.CreatedAt, UpdateTime: e.UpdatedAt}
	if e.Username != "" {
		r.Credential = &RegistryCredential{Type: "basic", AccessKey: e.Username}
	}
	return r
}

func endpointOf(r Registry) (replicate.Endpoint, error) {
	e := replicate.Endpoint{ID: r.ID, Name: r.Name, Description: r.Description, URL: r.URL, Insecure: r.Insecure, CACert: r.CACert}
	if r.Type != "" && r.Type != "docker-registry" && r.Type != "harbor" {
		return e, badRequest(fmt.Sprintf("registry type %q: berth speaks the OCI distribution API (docker-registry, harbor)", r.Type))
	}
	if cr := r.Credential; cr != nil {
		if cr.Type != "" && cr.Type != "basic" {
			return e, badRequest(fmt.Sprintf("credential type %q: want basic", cr.Type))
		}
		e.Username, e.Password = cr.AccessKey, cr.AccessSecret
	}
	return e, nil
}

func (a *API) listRegistries(c *call) error {
	if err := c.replAdmin(rbac.ActionList); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	name, err := nameFilter(c)
	if err != nil {
		return err
	}
	es, total, err := a.cfg.repl.r.Endpoints(c.ctx(), name, pg.offset(), pg.size)
	if err != nil {
		return replError(err)
	}
	health := c.r.URL.Query().Get("health") == "true"
	out := make([]Registry, 0, len(es))
	for i := range es {
		r := registryJSON(&es[i])
		if health {
			r.Status = a.health(c.ctx(), es[i].ID)
		}
		out = append(out, r)
	}
	return c.paged(pg, total, out)
}

func (a *API) health(ctx context.Context, id int64) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if a.cfg.repl.r.PingEndpoint(ctx, replicate.Endpoint{ID: id}) != nil {
		return "unhealthy"
	}
	return "healthy"
}

func (a *API) createRegistry(c *call) error {
	if err := c.replAdmin(rbac.ActionCreate); err != nil {
		return err
	}
	var req Registry
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	e, err := endpointOf(req)
	if err != nil {
		return err
	}
	id, err := a.cfg.repl.r.CreateEndpoint(c.ctx(), e)
	if err != nil {
		return replError(err)
	}
	return c.created(BasePath+"/registries/"+strconv.FormatInt(id, 10), nil)
}

func (a *API) pingRegistry(c *call) error {
	if err := c.replAdmin(rbac.ActionRead); err != nil {
		return err
	}
	var req RegistryPing
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	e, err := endpointOf(Registry{ID: req.ID, Name: "ping", URL: req.URL, Insecure: req.Insecure, Credential: req.Credential})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx(), 30*time.Second)
	defer cancel()
	if err := a.cfg.repl.r.PingEndpoint(ctx, e); err != nil {
		if errors.Is(err, replicate.ErrNotFound) || errors.Is(err, replicate.ErrInvalid) {
			return replError(err)
		}
		return badRequest("the registry is unreachable or refused the credentials: " + err.Error())
	}
	return c.ok()
}

func (a *API) getRegistry(c *call) error {
	if err := c.replAdmin(rbac.ActionRead); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	e, err := a.cfg.repl.r.Endpoint(c.ctx(), id)
	if err != nil {
		return replError(err)
	}
	return c.json(http.StatusOK, registryJSON(e))
}

func (a *API) updateRegistry(c *call) error {
	if err := c.replAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	cur, err := a.cfg.repl.r.Endpoint(c.ctx(), id)
	if err != nil {
		return replError(err)
	}
	req := registryJSON(cur)
	req.Credential = nil
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	e, err := endpointOf(req)
	if err != nil {
		return err
	}
	if req.Credential == nil {
		e.Username = cur.Username
	}
	e.ID = id
	return replErrorOK(c, a.cfg.repl.r.UpdateEndpoint(c.ctx(), e))
}

func replErrorOK(c *call, err error) error {
	if err != nil {
		return replError(err)
	}
	return c.ok()
}

func (a *API) deleteRegistry(c *call) error {
	if err := c.replAdmin(rbac.ActionDelete); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	return replErrorOK(c, a.cfg.repl.r.DeleteEndpoint(c.ctx(), id))
}

// --- policies

func policyJSON(ctx context.Context, r Replicator, p *replicate.Policy) ReplicationPolicy {
	remote := &RegistryRef{ID: p.RemoteID}
	if e, err := r.Endpoint(ctx, p.RemoteID); err == nil {
		remote.Name = e.Name
	}
	out := ReplicationPolicy{ID: p.ID, Name: p.Name, Description: p.Description, DestNamespace: p.DestNamespace,
		Trigger: &ReplicationTrigger{Type: string(p.Trigger)}, Filters: []ReplicationFilter{},
		ReplicateDeletion: p.ReplicateDeletion, Override: p.Override, Enabled: p.Enabled, Speed: p.Speed,
		CopyByChunk: true, Concurrency: p.Concurrency, CreationTime: p.CreatedAt, UpdateTime: p.UpdatedAt}
	n := p.DestNamespaceReplace
	out.DestNamespaceReplaceCount = &n
	if p.Mode == replicate.Push {
		out.DestRegistry = remote
	} else {
		out.SrcRegistry = remote
	}
	if p.Trigger == replicate.TriggerScheduled {
		out.Trigger.TriggerSettings = &ReplicationTriggerSetting{Cron: p.Cron}
	}
	for _, f := range p.Filters {
		out.Filters = append(out.Filters, ReplicationFilter{Type: string(f.Type), Value: f.Value, Decoration: f.Decoration})
	}
	return out
}

func policyOf(r ReplicationPolicy) (replicate.Policy, error) {
	p := replicate.Policy{ID: r.ID, Name: r.Name, Description: r.Description, DestNamespace: r.DestNamespace,
		ReplicateDeletion: r.ReplicateDeletion, Override: r.Override, Enabled: r.Enabled, Speed: max(r.Speed, 0),
		Concurrency: r.Concurrency}
	if r.DestNamespaceReplaceCount != nil {
		p.DestNamespaceReplace = *r.DestNamespaceReplaceCount
	}
	src, dst := int64(0), int64(0)
	if r.SrcRegistry != nil {
		src = r.SrcRegistry.ID
	}
	if r.DestRegistry != nil {
		dst = r.DestRegistry.ID
	}
	switch {
	case src == 0 && dst > 0:
		p.Mode, p.RemoteID = replicate.Push, dst
	case dst == 0 && src > 0:
		p.Mode, p.RemoteID = replicate.Pull, src
	default:
		return p, badRequest("a policy needs exactly one of src_registry (pull from it) and dest_registry (push to it)")
	}
	p.Trigger = replicate.TriggerManual
	if r.Trigger != nil && r.Trigger.Type != "" {
		p.Trigger = replicate.TriggerType(r.Trigger.Type)
		if r.Trigger.TriggerSettings != nil {
			p.Cron = r.Trigger.TriggerSettings.Cron
		}
	}
	for _, f := range r.Filters {
		p.Filters = append(p.Filters, replicate.Filter{Type: replicate.FilterType(f.Type), Value: f.Value, Decoration: f.Decoration})
	}
	return p, nil
}

func (a *API) listPolicies(c *call) error {
	if err := c.replAdmin(rbac.ActionList); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	name, err := nameFilter(c)
	if err != nil {
		return err
	}
	ps, total, err := a.cfg.repl.r.Policies(c.ctx(), name, pg.offset(), pg.size)
	if err != nil {
		return replError(err)
	}
	out := make([]ReplicationPolicy, 0, len(ps))
	for i := range ps {
		out = append(out, policyJSON(c.ctx(), a.cfg.repl.r, &ps[i]))
	}
	return c.paged(pg, total, out)
}

func (a *API) createPolicy(c *call) error {
	if err := c.replAdmin(rbac.ActionCreate); err != nil {
		return err
	}
	var req ReplicationPolicy
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	p, err := policyOf(req)
	if err != nil {
		return err
	}
	id, err := a.cfg.repl.r.CreatePolicy(c.ctx(), p)
	if err != nil {
		return replError(err)
	}
	return c.created(BasePath+"/replication/policies/"+strconv.FormatInt(id, 10), nil)
}

func (a *API) getPolicy(c *call) error {
	if err := c.replAdmin(rbac.ActionRead); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	p, err := a.cfg.repl.r.Policy(c.ctx(), id)
	if err != nil {
		return replError(err)
	}
	return c.json(http.StatusOK, policyJSON(c.ctx(), a.cfg.repl.r, p))
}

func (a *API) updatePolicy(c *call) error {
	if err := c.replAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	cur, err := a.cfg.repl.r.Policy(c.ctx(), id)
	if err != nil {
		return replError(err)
	}
	req := policyJSON(c.ctx(), a.cfg.repl.r, cur)
	req.Filters, req.SrcRegistry, req.DestRegistry = nil, nil, nil
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	if req.SrcRegistry == nil && req.DestRegistry == nil { // not sent: keep
		if cur.Mode == replicate.Push {
			req.DestRegistry = &RegistryRef{ID: cur.RemoteID}
		} else {
			req.SrcRegistry = &RegistryRef{ID: cur.RemoteID}
		}
	}
	p, err := policyOf(req)
	if err != nil {
		return err
	}
	p.ID = id
	return replErrorOK(c, a.cfg.repl.r.UpdatePolicy(c.ctx(), p))
}

func (a *API) deletePolicy(c *call) error {
	if err := c.replAdmin(rbac.ActionDelete); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	return replErrorOK(c, a.cfg.repl.r.DeletePolicy(c.ctx(), id))
}

// --- executions

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func executionJSON(e *replicate.Execution) ReplicationExecution {
	return ReplicationExecution{ID: e.ID, PolicyID: e.PolicyID, Status: string(e.Status), StatusText: e.StatusText,
		Trigger: string(e.Trigger), StartTime: e.StartTime, EndTime: optTime(e.EndTime), Total: e.Total, Failed: e.Failed,
		Succeed: e.Succeed, InProgress: e.InProgress, Stopped: e.Stopped, Bytes: e.Bytes}
}

func (a *API) listExecutions(c *call) error {
	if err := c.replAdmin(rbac.ActionList); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	var policyID int64
	if v := c.r.URL.Query().Get("policy_id"); v != "" {
		if policyID, err = strconv.ParseInt(v, 10, 64); err != nil || policyID < 0 {
			return badRequest(fmt.Sprintf("policy_id %q: want a number", v))
		}
	}
	status := replicate.Status(c.r.URL.Query().Get("status"))
	es, total, err := a.cfg.repl.r.Executions(c.ctx(), policyID, status, pg.offset(), pg.size)
	if err != nil {
		return replError(err)
	}
	out := make([]ReplicationExecution, 0, len(es))
	for i := range es {
		out = append(out, executionJSON(&es[i]))
	}
	return c.paged(pg, total, out)
}

func (a *API) startExecution(c *call) error {
	if err := c.replAdmin(rbac.ActionCreate); err != nil {
		return err
	}
	var req StartReplicationExecution
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	if req.PolicyID <= 0 {
		return badRequest("policy_id is required")
	}
	id, err := a.cfg.repl.r.StartExecution(c.ctx(), req.PolicyID, replicate.TriggerManual)
	if err != nil {
		return replError(err)
	}
	return c.created(BasePath+"/replication/executions/"+strconv.FormatInt(id, 10), nil)
}

func (a *API) getExecution(c *call) error {
	if err := c.replAdmin(rbac.ActionRead); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	e, err := a.cfg.repl.r.Execution(c.ctx(), id)
	if err != nil {
		return replError(err)
	}
	return c.json(http.StatusOK, executionJSON(e))
}

func (a *API) stopExecution(c *call) error {
	if err := c.replAdmin(rbac.ActionStop); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	return replErrorOK(c, a.cfg.repl.r.StopExecution(c.ctx(), id))
}

func (a *API) listTasks(c *call) error {
	if err := c.replAdmin(rbac.ActionList); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	ts, total, err := a.cfg.repl.r.Tasks(c.ctx(), id, pg.offset(), pg.size)
	if err != nil {
		return replError(err)
	}
	out := make([]ReplicationTask, 0, len(ts))
	for _, t := range ts {
		out = append(out, ReplicationTask{ID: t.ID, ExecutionID: t.ExecutionID, ResourceType: "artifact",
			SrcResource: t.SrcResource, DstResource: t.DstResource, Operation: string(t.Operation), Status: string(t.Status),
			StartTime: optTime(t.StartTime), EndTime: optTime(t.EndTime), Bytes: t.Bytes, Attempts: t.Attempts})
	}
	return c.paged(pg, total, out)
}

func (a *API) taskLog(c *call) error {
	if err := c.replAdmin(rbac.ActionRead); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	tid, err := c.pathID("task_id")
	if err != nil {
		return err
	}
	log, err := a.cfg.repl.r.TaskLog(c.ctx(), id, tid)
	if err != nil {
		return replError(err)
	}
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(log)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(log))
	return nil
}
