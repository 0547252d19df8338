package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/proxy"
	"github.com/berthlabs/berth/proxy/fanout"
	"github.com/berthlabs/berth/proxy/upstream"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/replicate"
	"github.com/berthlabs/berth/retention"
	"github.com/berthlabs/berth/tagselect"
)

// proxyCache is the wiring of proxy cache projects: the registry's
// Upstream, the projects' settings as its Sources, the registries of the
// replication feature as their endpoints, and the refusal of pushes into
// them. It exists with auth and replication on.
type proxyCache struct {
	cfg       ProxyCacheConfig
	cache     *proxy.Cache
	fills     *fanout.Group
	projects  *project.Store
	endpoints atomic.Pointer[replicate.Service] // set by wireReplication
	log       *slog.Logger
	tempSpool string // the spool directory to remove at close, if temporary
}

// openProxyCache builds the cache before the registry it consults; reg is
// read when the first fill is stored, once the registry exists.
func openProxyCache(cfg Config, projects *project.Store, reg func() *registry.Registry,
	log *slog.Logger) (*proxyCache, error) {
	pc := &proxyCache{cfg: cfg.ProxyCache, projects: projects, log: log.With("component", "proxy cache")}
	spoolDir, temp, err := proxySpoolDir(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("proxy cache spool: %w", err)
	}
	if temp {
		pc.tempSpool = spoolDir
	}
	// A fill that takes an hour is stuck; Close cuts fills at shutdown.
	// Fills in flight are bounded for the server at eight projects' worth,
	// so one project at its own limit cannot take every slot.
	perProject := int(cfg.ProxyCache.MaxConcurrent)
	if perProject <= 0 {
		perProject = proxy.DefaultMaxConcurrent
	}
	if pc.fills, err = fanout.New(spoolDir, fanout.WithFillTimeout(time.Hour), fanout.WithMaxFills(8*perProject),
		fanout.WithCommitErrors(func(key string, err error) {
			pc.log.Warn("storing a fetched blob", "blob", key, "err", err)
		})); err != nil {
		if temp {
			_ = os.RemoveAll(spoolDir)
		}
		return nil, err
	}
	actor := registry.SystemActor("proxy cache")
	local := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return reg().Transport(actor).RoundTrip(r)
	})
	timeout := cfg.ProxyCache.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	pc.cache, err = proxy.New(pc, local, pc.fills, proxy.WithTimeout(timeout),
		proxy.WithServeDeletedTags(cfg.ProxyCache.ServeDeletedTags), proxy.WithLogger(pc.log))
	if err != nil {
		pc.close()
		return nil, err
	}
	return pc, nil
}

// proxySpoolDir is where fills are spooled: under the data directory, or
// for a server over an embedder's storage a temporary directory of its
// own, removed at close (temp is true).
func proxySpoolDir(dataDir string) (dir string, temp bool, err error) {
	if dataDir == "" {
		dir, err = os.MkdirTemp("", "berth-proxy-spool-")
		return dir, true, err
	}
	return filepath.Join(dataDir, "proxy-spool"), false, nil
}

func (pc *proxyCache) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = pc.fills.Close(ctx)
	if pc.tempSpool != "" {
		_ = os.RemoveAll(pc.tempSpool)
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Source implements proxy.Sources: a project with a registry_id caches
// that registry, with the project's speed and the server's limits.
func (pc *proxyCache) Source(ctx context.Context, name string) (proxy.Source, bool, error) {
	p, err := pc.projects.Get(ctx, name)
	if errors.Is(err, project.ErrNotFound) {
		return proxy.Source{}, false, nil
	}
	if err != nil || p.Metadata.RegistryID == 0 {
		return proxy.Source{}, false, err
	}
	eps := pc.endpoints.Load()
	if eps == nil {
		return proxy.Source{}, false, fmt.Errorf("proxy cache project %q: registries are not available: %w", name, core.ErrUnavailable)
	}
	e, err := eps.EndpointWithPassword(ctx, p.Metadata.RegistryID)
	if errors.Is(err, replicate.ErrNotFound) {
		return proxy.Source{}, false, fmt.Errorf("proxy cache project %q: its registry %d is gone: %w", name,
			p.Metadata.RegistryID, core.ErrUnavailable)
	}
	if err != nil {
		return proxy.Source{}, false, err
	}
	typ := e.Type
	if typ == replicate.TypeDockerHub {
		typ = upstream.TypeDockerHub
	}
	var rate int64
	if p.Metadata.ProxySpeedKB > 0 {
		rate = p.Metadata.ProxySpeedKB << 10
	}
	return proxy.Source{
		// A new client when the project, the endpoint or the speed change.
		Key: fmt.Sprintf("%d/%d/%d/%d", p.ID, e.ID, e.UpdatedAt.UnixNano(), rate),
		Endpoint: upstream.Endpoint{URL: e.URL, Type: typ, Username: e.Username, Password: e.Password,
			Insecure: e.Insecure, CACert: e.CACert},
		MaxConcurrent: int(pc.cfg.MaxConcurrent), BytesPerSecond: rate,
	}, true, nil
}

// endpointUser names the proxy cache project using registry id, so that
// the registry is not deleted under it.
func (pc *proxyCache) endpointUser(ctx context.Context, id int64) (string, error) {
	p, found, err := findProject(ctx, pc.projects, func(p project.Project) bool { return p.Metadata.RegistryID == id })
	if err != nil || !found {
		return "", err
	}
	return fmt.Sprintf("proxy cache project %q", p.Name), nil
}

// findProject returns the first project, by name, that match selects.
func findProject(ctx context.Context, projects *project.Store, match func(project.Project) bool) (project.Project, bool, error) {
	const page = 500
	for off := 0; ; off += page {
		ps, _, err := projects.List(ctx, project.Filter{}, project.Page{Offset: off, Limit: page})
		if err != nil {
			return project.Project{}, false, err
		}
		for _, p := range ps {
			if match(p) {
				return p, true, nil
			}
		}
		if len(ps) < page {
			return project.Project{}, false, nil
		}
	}
}

// refusingPushes answers pushes into proxy cache projects with 403, after
// the caller was authorized as usual (so a stranger still gets 401). The
// cache's own stores come through the registry's Transport, which skips
// the Authorizer.
type refusingPushes struct {
	next registry.Authorizer
	pc   *proxyCache
}

func (a refusingPushes) Authorize(r *http.Request, need []registry.Access) (context.Context, error) {
	ctx, err := a.next.Authorize(r, need)
	if err != nil {
		return ctx, err
	}
	for _, n := range need {
		if n.Type != registry.ResourceRepository || !slices.Contains(n.Actions, registry.ActionPush) {
			continue
		}
		name, ok := project.ProjectOf(n.Name)
		if !ok {
			continue
		}
		p, err := a.pc.projects.Get(ctx, name)
		if err != nil && !errors.Is(err, project.ErrNotFound) {
			return ctx, err
		}
		if err == nil && p.Metadata.RegistryID != 0 {
			return ctx, &registry.Error{Status: http.StatusForbidden, Code: registry.CodeDenied,
				Message: fmt.Sprintf("project %q is a proxy cache: pushes are refused (it fills itself from its registry on pull); push to another project", name)}
		}
	}
	return ctx, nil
}

// defaultRetention gives a new proxy cache project Harbor's default
// policy for them, editable like any other: keep what was pulled within
// days, run daily.
func defaultRetention(svc *retention.Service, projects *project.Store, days int64, log *slog.Logger) func(context.Context, project.Change) {
	return func(ctx context.Context, c project.Change) {
		p, err := projects.GetByID(ctx, c.ProjectID)
		if err != nil || p.Metadata.RegistryID == 0 {
			return
		}
		all := []tagselect.Selector{{Kind: "doublestar", Decoration: tagselect.Matches, Pattern: "**", Untagged: true}}
		_, err = svc.Create(ctx, retention.ProjectPolicy{ProjectID: p.ID, Schedule: "0 0 0 * * *", Policy: retention.Policy{
			Algorithm: retention.AlgorithmOR,
			Rules: []retention.Rule{{Template: retention.NDaysSinceLastPull,
				Params:       map[string]int{retention.NDaysSinceLastPull: int(days)},
				TagSelectors: all, ScopeSelectors: []tagselect.Selector{{Kind: "doublestar", Decoration: tagselect.RepoMatches, Pattern: "**"}}}},
		}})
		if err != nil {
			log.WarnContext(ctx, "proxy cache: the default retention policy of a new project", "project", p.Name, "err", err)
		}
	}
}
