package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/chart"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/webhook"
)

// A Feature adds a capability to the server while it is assembled:
// scanning, content trust, replication and charts are features, and an
// embedder's own policy is one too (WithFeature). Wire runs once, after
// the registry and the identity stores are open and before the API, the
// routes and the job runner start; what it adds goes through the Assembly.
type Feature interface {
	Wire(a *Assembly) error
}

// FeatureFunc adapts a function to Feature.
type FeatureFunc func(a *Assembly) error

// Wire calls f.
func (f FeatureFunc) Wire(a *Assembly) error { return f(a) }

// Assembly is what a Feature sees of the server being assembled, and where
// it leaves what it adds.
type Assembly struct {
	ctx     context.Context
	cfg     Config
	log     *slog.Logger
	st      *store
	id      *identity // nil when auth is off
	workers *jobs.Workers
	runner  *jobs.Runner // not started until every feature is wired
	gates   *pullGates
	pushes  *pushGates
	deletes *deleteGates
	sinks   *eventSinks
	quotas  *projectQuotas // nil when auth is off
	// webhooks is the webhook feature's service, for features that emit
	// events of their own (nil when webhooks are off).
	webhooks *webhook.Service
	// proxy is the proxy cache wiring (nil when it is off).
	proxy   *proxyCache
	apiOpts []api.Option
	routes  []route
	// admission serves the webhook on its own listener (nil: none).
	admission http.Handler
	closers   []func()
	metrics   []prometheus.Collector
	// startJobs is set by a feature that registered a worker; River
	// refuses to start with none.
	startJobs bool
	// charts is the chart repositories' store (nil when charts are off).
	charts *chart.Repo
}

type route struct {
	pattern string
	h       http.Handler
}

// Context ends when the server stops; background work of a feature
// follows it.
func (a *Assembly) Context() context.Context { return a.ctx }

// Config is the server's configuration.
func (a *Assembly) Config() Config { return a.cfg }

// Logger is the server's logger.
func (a *Assembly) Logger() *slog.Logger { return a.log }

// Registry is the OCI registry; Registry().Transport serves trusted
// in-process clients.
func (a *Assembly) Registry() *registry.Registry { return a.st.reg }

// DB is the server's SQL database; features keep their state in it.
func (a *Assembly) DB() *sqldb.DB { return a.st.db }

// Blobs is the content-addressed blob store.
func (a *Assembly) Blobs() storage.Driver { return a.st.blobs }

// Auth reports whether authentication and RBAC are on; the identity
// accessors return nil when they are not.
func (a *Assembly) Auth() bool { return a.id != nil }

// Projects is the project store (nil when auth is off).
func (a *Assembly) Projects() *project.Store {
	if a.id == nil {
		return nil
	}
	return a.id.projects
}

// Gatekeeper identifies callers and decides with RBAC (nil when auth is
// off).
func (a *Assembly) Gatekeeper() *auth.Gatekeeper {
	if a.id == nil {
		return nil
	}
	return a.id.gk
}

// Audit records entries in the audit log (nil when auth is off).
func (a *Assembly) Audit() *audit.Recorder {
	if a.id == nil {
		return nil
	}
	return a.id.recorder
}

// AddPullGate adds a gate asked before every manifest is served; the
// first refusal wins.
func (a *Assembly) AddPullGate(g registry.PullGate) { *a.gates = append(*a.gates, g) }

// AddPushGate adds a gate asked before every manifest is stored (with the
// tags it would set); the first refusal wins.
func (a *Assembly) AddPushGate(g registry.PushGate) { *a.pushes = append(*a.pushes, g) }

// AddDeleteGate adds a gate asked before every tag or manifest deletion;
// the first refusal wins.
func (a *Assembly) AddDeleteGate(g registry.DeleteGate) { *a.deletes = append(*a.deletes, g) }

// AddEventSink adds a sink told of every registry change.
func (a *Assembly) AddEventSink(s registry.EventSink) { *a.sinks = append(*a.sinks, s) }

// Handle serves h for pattern (http.ServeMux syntax) on the server's
// address.
func (a *Assembly) Handle(pattern string, h http.Handler) {
	a.routes = append(a.routes, route{pattern, h})
}

// AddAPIOptions configures the management API (adds its endpoint groups:
// api.WithScanning, api.WithTrust, ...). No effect when auth is off.
func (a *Assembly) AddAPIOptions(opts ...api.Option) { a.apiOpts = append(a.apiOpts, opts...) }

// OnProjectDelete runs f in the transaction that deletes a project: a
// feature keeping rows for a project removes them, or refuses the
// deletion with an error wrapping project.ErrNotEmpty. No effect when auth
// is off.
func (a *Assembly) OnProjectDelete(f func(ctx context.Context, tx *sqldb.Tx, p project.Project) error) {
	if a.id != nil {
		a.id.projects.OnDelete(f)
	}
}

// Workers is where a feature registers its durable job workers; the job
// runner starts after every feature is wired.
func (a *Assembly) Workers() *jobs.Workers {
	a.startJobs = true
	return a.workers
}

// Jobs enqueues durable jobs in the server's database.
func (a *Assembly) Jobs() *jobs.Runner { return a.runner }

// AddMetrics adds collectors to the server's Prometheus metrics.
func (a *Assembly) AddMetrics(c ...prometheus.Collector) { a.metrics = append(a.metrics, c...) }

// AddCloser runs f when the server closes, after the job runner stopped,
// in the reverse order of adding.
func (a *Assembly) AddCloser(f func()) { a.closers = append(a.closers, f) }

// SecretKey is the 32-byte key that seals the credentials features store
// (Config.SecretKeyFile, default <data>/secret.key, created if missing;
// in memory for a server without a data directory).
func (a *Assembly) SecretKey() ([]byte, error) { return a.st.secret(a.cfg) }

// secret loads the secret key once: Config.SecretKeyFile, or
// <data>/secret.key, created if missing.
func (st *store) secret(cfg Config) ([]byte, error) {
	if st.secretKey != nil {
		return st.secretKey, nil
	}
	path := cfg.SecretKeyFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "secret.key")
	}
	key, err := loadOrCreateKey(path)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	st.secretKey = key
	return key, nil
}

// pullGates asks every gate in turn; the first refusal wins. Features
// append to it while the server is assembled, before it serves.
type pullGates []registry.PullGate

func (g *pullGates) CheckPull(ctx context.Context, t registry.Target) error {
	for _, gate := range *g {
		if err := gate.CheckPull(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// pushGates asks every push gate in turn.
type pushGates []registry.PushGate

func (g *pushGates) CheckPush(ctx context.Context, t registry.Target, tags []string) error {
	for _, gate := range *g {
		if err := gate.CheckPush(ctx, t, tags); err != nil {
			return err
		}
	}
	return nil
}

// deleteGates asks every delete gate in turn.
type deleteGates []registry.DeleteGate

func (g *deleteGates) CheckDelete(ctx context.Context, repo string, d digest.Digest, tags []string) error {
	for _, gate := range *g {
		if err := gate.CheckDelete(ctx, repo, d, tags); err != nil {
			return err
		}
	}
	return nil
}

// eventSinks sends each event to every sink in turn. Features append to
// it while the server is assembled, before it serves.
type eventSinks []registry.EventSink

func (s *eventSinks) Emit(ctx context.Context, e registry.Event) {
	for _, sink := range *s {
		sink.Emit(ctx, e)
	}
}

// loadOrCreateKey reads a 32-byte key, or creates one (mode 0600).
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("key file %s: %d bytes, want 32", path, len(key))
	}
	return key, nil
}
