package api

import (
	"context"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/replicate"
)

// Replication policies: /replication/policies.

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

// policiesJSON shows policies as policyJSON does, with ctx for the names
// of their registries.
func (a *API) policiesJSON(ctx context.Context) func(*replicate.Policy) ReplicationPolicy {
	return func(p *replicate.Policy) ReplicationPolicy { return policyJSON(ctx, a.cfg.repl.r, p) }
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
	return replList(c, a.cfg.repl.r.Policies, replPolicySort(), a.policiesJSON(c.ctx()))
}

func (a *API) createPolicy(c *call) error {
	return replCreate(c, "/replication/policies", policyOf, a.cfg.repl.r.CreatePolicy)
}

func (a *API) getPolicy(c *call) error {
	return replGet(c, a.cfg.repl.r.Policy, a.policiesJSON(c.ctx()))
}

func (a *API) updatePolicy(c *call) error {
	id, cur, err := replFetch(c, rbac.ActionUpdate, a.cfg.repl.r.Policy)
	if err != nil {
		return err
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
	return a.okOr(c, a.cfg.repl.r.UpdatePolicy(c.ctx(), p))
}

func (a *API) deletePolicy(c *call) error {
	return replDo(c, rbac.ActionDelete, a.cfg.repl.r.DeletePolicy)
}
