package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/chart"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// mountCharts serves Helm chart repositories: the classic index and files
// under /chartrepo/ and the ChartMuseum API under /api/chartrepo/, on the
// same blob store and database, with the same RBAC as images.
func (a *app) mountCharts(ctx context.Context, mux *http.ServeMux, log *slog.Logger) error {
	sink := chartEvents{log: log}
	if a.id != nil {
		sink.recorder = a.id.recorder
	}
	opts := []chart.Option{chart.WithEventSink(sink)}
	if a.id != nil {
		// Charts are keyed by project id; a project holding charts is not
		// empty (Harbor refuses to delete it), and its deletion frees the
		// rest of what the repository keeps for it.
		opts = append(opts, chart.WithProjects(a.id.projects))
	}
	repo, err := chart.New(ctx, a.st.blobs, a.st.db, opts...)
	if err != nil {
		return err
	}
	if a.id != nil {
		a.id.projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
			n, err := repo.ProjectVersions(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("project %q: %w: it still holds %d Helm chart versions; delete them first", p.Name, project.ErrNotEmpty, n)
			}
			return repo.ForgetProject(ctx, tx, p.ID)
		})
	}
	var h http.Handler
	if a.id == nil {
		h = repo.Handler(chart.AllowAll)
	} else {
		gk := a.id.gk
		inner := repo.Handler(chart.RBACAccess(gk.Principal, gk.Decide))
		// Name the caller in the request context so chart events carry it.
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p, err := gk.Principal(r); err == nil && p.Name != "" {
				r = r.WithContext(registry.WithActor(r.Context(), p.Name))
			}
			inner.ServeHTTP(w, r)
		})
	}
	mux.Handle("/chartrepo/", h)
	mux.Handle("/api/chartrepo/", h)
	return nil
}

// chartEvents logs chart uploads and deletes and records them in the audit
// log.
type chartEvents struct {
	log      *slog.Logger
	recorder *audit.Recorder
}

func (c chartEvents) Notify(ctx context.Context, e chart.Event) {
	actor := registry.ActorFrom(ctx)
	c.log.InfoContext(ctx, "chart event", "action", e.Action, "project", e.Project, "chart", e.Name,
		"version", e.Version, "actor", actor)
	if c.recorder == nil {
		return
	}
	err := c.recorder.Record(context.WithoutCancel(ctx), audit.Entry{Actor: actor, Action: "chart-" + e.Action,
		ResourceType: "helm-chart", Resource: e.Project + "/" + e.Name + ":" + e.Version, Project: e.Project,
		Result: audit.ResultSuccess, Detail: e.Digest})
	if err != nil {
		c.log.Error("audit", "err", err)
	}
}
