package server

import (
	"context"
	"errors"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/purpose"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/trust"
)

// wireTrust adds content trust to the server: trust stores and policies
// in the server's database, the signature gate in front of manifest pulls
// (fed by registry events so a new signature takes effect at once) and,
// with auth on, the trust endpoints of the API. A project's policy comes
// from the trust API; a project without one follows its content_trust
// metadata (Harbor's enable_content_trust), then the system default.
// With auth off there are no projects: settings are keyed by the
// repository's first path component, and only the Go API sets them.
func wireTrust(w *Assembly) error {
	store, err := trust.NewStore(w.ctx, w.st.db)
	if err != nil {
		return err
	}
	var policies trust.Policies = store
	if w.id != nil {
		policies = trust.WithProjects(store, projectResolver(w.id.projects))
		w.id.projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
			return store.ForgetProject(ctx, tx, trust.ProjectKey(p.ID))
		})
	}
	opts := []trust.GateOption{trust.WithGateLogger(w.log.With("component", "trust"))}
	if w.cfg.Trust.Revocation {
		rv, err := revocation.NewWithOptions(revocation.Options{CertChainPurpose: purpose.CodeSigning})
		if err != nil {
			return err
		}
		opts = append(opts, trust.WithRevocation(trust.VerifyOptions{Revocation: rv}))
	}
	if w.id != nil && !w.cfg.Trust.GatePushers {
		opts = append(opts, trust.WithExemption(mayPush(w.id)))
	}
	gate := trust.NewGate(trust.Registry(w.st.reg.Transport(registry.SystemActor("trust gate, reading signatures")), "http://berth.internal"), policies, opts...)
	w.AddPullGate(gate)
	w.AddEventSink(gate)
	if w.id != nil {
		w.AddAPIOptions(api.WithTrust(store, gate))
	}
	return nil
}

// mayPush tells whether the caller of a refused pull may push the
// repository, as the Gatekeeper let it in: its roles and groups for Basic
// credentials, its token's scopes for Bearer (cosign asks for push and
// pull when it signs).
func mayPush(id *identity) func(ctx context.Context, t registry.Target) bool {
	push := rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPush}
	return func(ctx context.Context, t registry.Target) bool {
		return id.gk.CallerMay(ctx, trust.ProjectOf(t.Repository), t.Repository, push)
	}
}

// projectResolver keys a project's trust settings by its ID, as the API
// does (a project created again under a deleted one's name starts with
// none), and reads its content_trust metadata.
func projectResolver(projects *project.Store) trust.ProjectResolver {
	return func(ctx context.Context, name string) (string, string, error) {
		p, err := projects.Get(ctx, name)
		if errors.Is(err, project.ErrNotFound) {
			return name, "", nil // no such project: nothing to pull either
		}
		if err != nil {
			return "", "", err
		}
		return trust.ProjectKey(p.ID), p.Metadata.ContentTrust, nil
	}
}
