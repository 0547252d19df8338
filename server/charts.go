package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/chart"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// wireCharts serves Helm chart repositories: the classic index and files
// under /chartrepo/ and the ChartMuseum API under /api/chartrepo/, on the
// same blob store and database, with the same RBAC as images.
func wireCharts(a *Assembly) error {
	cfg, log := a.cfg, a.log
	sink := chartEvents{log: log, recorder: a.Audit()}
	// Charts share the registry's blob store: its garbage collection keeps
	// what they hold and hears what they let go.
	opts := []chart.Option{chart.WithEventSink(sink), chart.WithBlobCoordinator(a.Registry())}
	if a.id != nil {
		// Charts are keyed by project id; a project holding charts is not
		// empty (Harbor refuses to delete it), and its deletion frees the
		// rest of what the repository keeps for it.
		opts = append(opts, chart.WithProjects(a.id.projects))
	}
	repo, err := chart.New(a.ctx, a.st.blobs, a.st.db, opts...)
	if err != nil {
		return err
	}
	a.charts = repo
	a.Registry().AddBlobHolder(repo)
	a.AddAPIOptions(api.WithChartCounter(chartCounter(repo)))
	a.OnProjectDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
		n, err := repo.ProjectVersions(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("project %q: %w: it still holds %d Helm chart versions; delete them first", p.Name, project.ErrNotEmpty, n)
		}
		return repo.ForgetProject(ctx, tx, p.ID)
	})
	var h http.Handler
	if a.id == nil {
		h = repo.Handler(chart.AllowAll)
	} else {
		gk := a.id.gk
		inner := repo.Handler(chart.RBACAccess(chartCaller, gk.Decide))
		// The caller is resolved once per request (one password check, one
		// throttle count), named in the context for chart events, and
		// refused here when the credentials fail.
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := gk.Principal(r)
			if err != nil {
				chartLoginError(w, err)
				return
			}
			ctx := context.WithValue(r.Context(), chartCallerKey{}, p)
			if p.Name != "" {
				ctx = registry.WithActor(ctx, p.Name)
			}
			inner.ServeHTTP(w, r.WithContext(ctx))
		})
		// Chart uploads and deletes act on a browser's Basic credentials.
		h = api.CrossSiteGuard(h, api.GuardExternalURL(cfg.ExternalURL), api.GuardAllowedOrigins(cfg.AllowedOrigins...))
	}
	a.Handle("/chartrepo/", h)
	a.Handle("/api/chartrepo/", h)
	a.AddAPIOptions(api.WithExternalRoutes(chartAPIRoutes()...))
	return nil
}

// chartEvents logs chart uploads and deletes and records them in the audit
// log.
type chartEvents struct {
	log      *slog.Logger
	recorder *audit.Recorder
}

func (c chartEvents) Emit(ctx context.Context, e chart.Event) {
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

type chartCallerKey struct{}

// chartCaller is the caller the chart handler's wrapper resolved.
func chartCaller(r *http.Request) (rbac.Principal, error) {
	p, _ := r.Context().Value(chartCallerKey{}).(rbac.Principal)
	return p, nil
}

// chartLoginError answers failed credentials on the chart routes as the
// chart handler answers its own errors ({"error": "..."}): 429 with
// Retry-After when too many failed recently, 503 when the directory is
// down, 401 with a challenge otherwise.
func chartLoginError(w http.ResponseWriter, err error) {
	status, msg := http.StatusUnauthorized, "invalid credentials"
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &te):
		status, msg = http.StatusTooManyRequests, te.Error()
		w.Header().Set("Retry-After", strconv.Itoa(te.Seconds()))
	case errors.Is(err, auth.ErrUnavailable):
		status, msg = http.StatusServiceUnavailable, "the identity provider is unavailable; try again later"
	default:
		w.Header().Set("WWW-Authenticate", `Basic realm="berth"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
