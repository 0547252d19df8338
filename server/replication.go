package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/replicate"
)

// wireReplication adds replication to the server: the service over the
// server's database, its job worker, its event sink (event-based
// policies) and its API. With auth on, push policies' label filters match
// the labels of the local artifacts too.
func wireReplication(w *Assembly) error {
	key, err := w.SecretKey()
	if err != nil {
		return err
	}
	local := w.st.reg.Transport(registry.SystemActor("replication"))
	if w.id != nil {
		pc := &projectCreator{next: local, projects: w.id.projects, log: w.log, known: map[string]bool{}}
		w.id.projectChanged = append(w.id.projectChanged, pc.forget)
		local = pc
	}
	opts := []replicate.ServiceOption{replicate.WithSecretKey(key), replicate.WithLogger(w.log.With("component", "replication"))}
	if w.Auth() {
		// Push policies' label filters also match the labels local
		// artifacts carry (labels belong to projects: auth on).
		labels, err := label.New(w.ctx, w.st.db)
		if err != nil {
			return err
		}
		opts = append(opts, replicate.WithLocalLabels(replicationLabels{s: labels, projects: w.Projects()}))
	}
	if w.proxy != nil {
		opts = append(opts, replicate.WithEndpointUsers(w.proxy.endpointUser))
	}
	opts = append(opts, chartReplication(w)...)
	svc, err := replicate.NewService(w.ctx, w.st.db, local, w.runner, opts...)
	if err != nil {
		return err
	}
	if w.proxy != nil {
		w.proxy.endpoints.Store(svc) // proxy cache projects reach their registries
	}
	if err := svc.Register(w.Workers()); err != nil {
		return err
	}
	if err := svc.Start(w.ctx); err != nil {
		return err
	}
	w.AddCloser(svc.Close)
	w.AddEventSink(svc)
	w.AddAPIOptions(api.WithReplication(svc))
	return nil
}

// projectCreator makes sure the project a replicated repository lands in
// exists, creating it (private) the first time, as Harbor does for pull
// replication: with auth on, a repository outside any project would be
// invisible to the API and to RBAC.
type projectCreator struct {
	next     http.RoundTripper
	projects *project.Store
	log      *slog.Logger

	mu    sync.Mutex
	known map[string]bool
}

func (p *projectCreator) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if name, ok := repositoryOf(r.URL.Path); ok {
			if err := p.ensure(r.Context(), strings.SplitN(name, "/", 2)[0]); err != nil {
				return nil, err
			}
		}
	}
	return p.next.RoundTrip(r)
}

func (p *projectCreator) ensure(ctx context.Context, name string) error {
	p.mu.Lock()
	known := p.known[name]
	p.mu.Unlock()
	if known {
		return nil
	}
	// Not under mu: creating the project calls forget, through the
	// project store's change hook.
	_, err := p.projects.Get(ctx, name)
	if errors.Is(err, project.ErrNotFound) {
		_, err = p.projects.Create(registry.WithActor(ctx, registry.SystemActor("replication into a project it creates")), project.Project{Name: name, Owner: "replication"})
		if errors.Is(err, project.ErrExists) {
			err = nil
		} else if err == nil {
			p.log.Info("created a project for replicated repositories", "project", name)
		}
	}
	if err != nil {
		return fmt.Errorf("replication: project %q for the replicated repository: %w", name, err)
	}
	p.mu.Lock()
	p.known[name] = true
	p.mu.Unlock()
	return nil
}

// forget drops a changed or deleted project (here or on another node)
// from what ensure knows exists; "" drops them all.
func (p *projectCreator) forget(name string) {
	p.mu.Lock()
	if name == "" {
		clear(p.known)
	} else {
		delete(p.known, name)
	}
	p.mu.Unlock()
}

// repositoryOf returns the repository a distribution API write names
// (/v2/<name>/blobs/uploads/..., /v2/<name>/manifests/<ref>).
func repositoryOf(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return "", false
	}
	for _, marker := range []string{"/blobs/", "/manifests/"} {
		if i := strings.LastIndex(rest, marker); i > 0 {
			return rest[:i], true
		}
	}
	return "", false
}
