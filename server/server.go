package server

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/ldap"
	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
)

// Version is reported by /api/v2.0/systeminfo.
const Version = "0.1.0-dev"

// Server is an assembled registry: the OCI distribution API, the token
// service, the management API, chart repositories and every feature, over
// one store. Serve its Handler yourself, or call Run.
type Server struct {
	cfg         Config
	log         *slog.Logger
	handler     http.Handler
	st          *store
	id          *identity // nil when auth is off
	jobs        *jobs.Runner
	jobDB       *sql.DB
	jobsStarted bool
	metrics     http.Handler   // Prometheus, on the main mux or Config.MetricsAddr
	admission   http.Handler   // the webhook on Config.Admission.Addr; nil on the main mux or off
	tls         *tls.Config    // nil for plain HTTP
	quotas      *projectQuotas // nil when auth is off
	proxy       *proxyCache    // nil unless proxy cache projects are on
	closers     []func()       // run in reverse order by Close
	cancel      context.CancelFunc
	closeOnce   sync.Once
}

// Option configures what a Config cannot say: code.
type Option func(*options)

type options struct {
	log      *slog.Logger
	features []Feature
	builtin  BuiltinScanner
	blobs    storage.Driver
	db       *sqldb.DB
	noJobs   bool // Migrate: assemble, start nothing
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithFeature adds features, wired after the built-in ones in the order
// given.
func WithFeature(f ...Feature) Option {
	return func(o *options) { o.features = append(o.features, f...) }
}

// WithStorage and WithDatabase run the server over an embedder's blob
// store and database instead of Config.DataDir (both are needed, and
// DataDir must then be empty): keys are generated in memory and
// Config.AdminPassword is required. The server does not close them.
func WithStorage(d storage.Driver) Option { return func(o *options) { o.blobs = d } }

// WithDatabase: see WithStorage.
func WithDatabase(db *sqldb.DB) Option { return func(o *options) { o.db = db } }

// New assembles a server from cfg. Background work (jobs, schedules)
// runs until Close.
func New(ctx context.Context, cfg Config, opts ...Option) (_ *Server, err error) {
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.validate(o); err != nil {
		return nil, err
	}
	log := o.log
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{cfg: cfg, log: log, cancel: cancel}
	defer func() {
		if err != nil {
			_ = s.Close(context.Background())
		}
	}()
	if o.blobs != nil {
		s.st = embeddedStore(o.blobs, o.db, cfg.SecretKeyFile)
	} else if s.st, err = openStore(ctx, cfg, log); err != nil {
		return nil, err
	}
	s.st.changes = &changes{db: s.st.db, log: log}
	regOpts := []registry.Option{registry.WithLogger(log), registry.WithMaxManifestSize(cfg.MaxManifestBytes)}
	if cfg.SparseManifests {
		regOpts = append(regOpts, registry.WithSparseManifests())
	}
	if cfg.Storage.S3.Redirect {
		regOpts = append(regOpts, registry.WithBlobRedirects())
	}
	sinks := &eventSinks{logEvents(log)}
	gates, pushes, deletes := &pullGates{}, &pushGates{}, &deleteGates{}
	if cfg.Auth {
		counter := func(ctx context.Context, project string) (int, error) {
			return s.st.reg.CountRepositories(ctx, project)
		}
		if s.id, err = openIdentity(ctx, s.st, cfg, log, counter); err != nil {
			return nil, err
		}
		// Projects are tenants: a mount without a source never crosses them,
		// and takes a blob only from a repository the caller may pull.
		pull := rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPull}
		var authorizer registry.Authorizer = s.id.gk
		if cfg.ProxyCache.Enabled && cfg.Replication.Enabled {
			if s.proxy, err = openProxyCache(cfg, s.id.projects,
				func() *registry.Registry { return s.st.reg }, log); err != nil {
				return nil, err
			}
			s.closers = append(s.closers, s.proxy.close)
			authorizer = refusingPushes{next: s.id.gk, pc: s.proxy}
			regOpts = append(regOpts, registry.WithUpstream(s.proxy.cache))
		}
		regOpts = append(regOpts, registry.WithAuthorizer(authorizer), registry.WithProjectScopedAnonymousMount(),
			registry.WithMountSourceFilter(func(ctx context.Context, project, repo string) bool {
				return s.id.gk.CallerMay(ctx, project, repo, pull)
			}))
		*sinks = append(*sinks, s.id.registrySink())
		s.quotas = newProjectQuotas(s.id.projects, log)
		s.id.projectChanged = append(s.id.projectChanged, s.quotas.forget)
		regOpts = append(regOpts, registry.WithQuotas(s.quotas))
		// Refused pulls and pushes of known callers (403, a gate's 412) are
		// audited as failures.
		regOpts = append(regOpts, registry.WithRefusalSink(s.id.registrySink()))
	} else {
		log.Warn("authentication is off: anyone who can reach this server may push, pull and delete")
	}
	regOpts = append(regOpts, registry.WithEventSink(sinks), registry.WithPullGate(gates), registry.WithPushGate(pushes),
		registry.WithDeleteGate(deletes))
	if err := s.st.openRegistry(ctx, regOpts...); err != nil {
		return nil, err
	}
	go purgeUploads(ctx, s.st.reg, cfg.UploadMaxAge, log)

	a, err := s.openJobs(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.gates, a.pushes, a.deletes, a.sinks, a.quotas = gates, pushes, deletes, sinks, s.quotas
	if a.proxy = s.proxy; s.proxy != nil {
		a.AddMetrics(s.proxy.cache)
	}
	features := append(builtinFeatures(cfg, o.builtin), o.features...)
	for _, f := range features {
		if err = f.Wire(a); err != nil {
			break
		}
	}
	s.closers = append(s.closers, a.closers...)
	if err != nil {
		return nil, err
	}
	if !o.noJobs {
		if s.id != nil {
			s.id.listenForChanges(s.st.changes)
		}
		s.st.changes.listen(ctx) // other nodes' changes, on a shared database
	}
	if a.startJobs && !o.noJobs {
		if err := s.jobs.Start(ctx); err != nil {
			return nil, err
		}
		s.jobsStarted = true
	}
	if err := s.mount(a, cfg, log); err != nil {
		return nil, err
	}
	if cfg.TLS.enabled() {
		if s.tls, err = s.tlsConfig(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Migrate brings the database cfg names up to this binary's schema and
// returns: every package applies its migrations as the server is
// assembled, with cfg's features, and nothing is served or started. Run
// it with the new binary before a rolling upgrade of a scale-out
// installation, so that no node migrates while others serve; a binary
// older than the schema refuses to start (sqldb.ErrSchemaNewer).
func Migrate(ctx context.Context, cfg Config, opts ...Option) error {
	s, err := New(ctx, cfg, append(opts, func(o *options) { o.noJobs = true })...)
	if err != nil {
		return err
	}
	return s.Close(ctx)
}

// builtinFeatures are the features Config turns on, in wiring order.
func builtinFeatures(cfg Config, builtin BuiltinScanner) []Feature {
	fs := []Feature{FeatureFunc(wireUserGroups)}
	if cfg.Scan.Enabled {
		fs = append(fs, scanning(builtin), FeatureFunc(wireScanExports))
	}
	if cfg.Trust.Enabled {
		fs = append(fs, FeatureFunc(wireTrust))
	}
	if cfg.Charts.Enabled { // before replication, which replicates charts
		fs = append(fs, FeatureFunc(wireCharts))
	}
	if cfg.Replication.Enabled {
		fs = append(fs, FeatureFunc(wireReplication))
	}
	if cfg.GC.Enabled {
		fs = append(fs, FeatureFunc(wireGC))
	}
	if cfg.Webhooks.Enabled {
		fs = append(fs, FeatureFunc(wireWebhooks))
	}
	if cfg.Immutable.Enabled {
		fs = append(fs, FeatureFunc(wireImmutable))
	}
	if cfg.Labels.Enabled {
		fs = append(fs, FeatureFunc(wireLabels))
	}
	if cfg.AuditPurge.Enabled {
		fs = append(fs, FeatureFunc(wireAuditPurge))
	}
	if cfg.Retention.Enabled {
		fs = append(fs, FeatureFunc(wireRetention))
	}
	if cfg.Admission.Enabled {
		fs = append(fs, FeatureFunc(wireAdmission))
	}
	return fs
}

// mount builds the handler: the token service and the management API
// (with auth), the features' routes, /v2/, /healthz, /livez and /metrics.
func (s *Server) mount(a *Assembly, cfg Config, log *slog.Logger) error {
	m := newMetrics()
	m.reg.MustRegister(a.metrics...)
	mux := http.NewServeMux()
	if s.id != nil {
		mux.Handle("/service/token", s.id.tokens.Handler(s.id.gk, s.id.gk))
		apiOpts := append([]api.Option{api.WithVersion(Version), api.WithExternalURL(cfg.ExternalURL),
			api.WithRealm(tokenRealm(cfg.ExternalURL)), api.WithLogger(log), api.WithGroupDN(ldap.CanonicalDN),
			api.WithAuditRecorder(s.id.recorder), api.WithAllowedOrigins(cfg.AllowedOrigins...),
			api.WithDefaultStorageLimit(cfg.DefaultStorageLimit)}, a.apiOpts...)
		sys, err := s.sysAPIOptions(a, cfg)
		if err != nil {
			return err
		}
		apiOpts = append(apiOpts, sys...)
		apiOpts = append(apiOpts, s.id.oidcAPIOptions()...)
		mgmt, err := api.New(api.Deps{Projects: s.id.projects, Users: s.id.users, Robots: s.id.robots,
			Audit: s.id.audit, Registry: s.st.reg, Access: s.id.gk}, apiOpts...)
		if err != nil {
			return err
		}
		mux.Handle(api.BasePath+"/", mgmt)
		s.mountSessions(mux, cfg)
		s.id.mountOIDC(mux)
	}
	for _, r := range a.routes {
		mux.Handle(r.pattern, r.h)
	}
	mux.Handle("/v2/", m.instrument(s.st.reg))
	mux.Handle("/v2", m.instrument(s.st.reg))
	mux.HandleFunc("GET /healthz", health(s.st.db, s.st.blobs))
	mux.HandleFunc("GET /livez", live)
	s.metrics = m.handler()
	s.admission = a.admission
	if cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", adminOnly(s.id, s.metrics))
	}
	proxies, err := parsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	inner := s.withSessions(mux)
	if err := s.mountUI(mux, inner, cfg, log); err != nil {
		return err
	}
	s.handler = behindProxies(proxies, logRequests(log, inner))
	return nil
}

// Handler serves every endpoint of the server.
func (s *Server) Handler() http.Handler { return s.handler }

// Registry is the server's OCI registry, for in-process clients
// (Registry().Transport).
func (s *Server) Registry() *registry.Registry { return s.st.reg }

// Close stops background work (running jobs get a grace period, then run
// again after the next start), flushes the audit log and closes the
// store. It is safe to call more than once.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.jobs != nil && s.jobsStarted {
			stopCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
			if err := s.jobs.Stop(stopCtx); err != nil {
				s.log.Warn("stopping jobs", "err", err)
			}
			cancel()
		}
		for i := len(s.closers) - 1; i >= 0; i-- {
			s.closers[i]()
		}
		if s.jobDB != nil {
			_ = s.jobDB.Close()
		}
		if s.id != nil {
			s.id.close(s.log)
		}
		if s.st != nil {
			_ = s.st.Close()
		}
	})
	return nil
}

// validate checks what New cannot do without.
func (c *Config) validate(o options) error {
	var errs []error
	switch {
	case (o.blobs == nil) != (o.db == nil):
		errs = append(errs, errors.New("server: WithStorage and WithDatabase go together"))
	case o.blobs != nil && c.DataDir != "":
		errs = append(errs, errors.New("server: with WithStorage, DataDir must be empty"))
	case o.blobs == nil && c.DataDir == "" && (c.Database.URL == "" || c.Storage.S3.Bucket == ""):
		errs = append(errs, errors.New("server: no data directory (Config.DataDir)"))
	case o.blobs != nil && c.Auth && c.AdminPassword == "":
		errs = append(errs, errors.New("server: without a data directory, Config.AdminPassword is required"))
	}
	errs = append(errs, c.validateScaleOut(o)...)
	if c.ExternalURL == "" {
		scheme := "http"
		if c.TLS.enabled() {
			scheme = "https"
		}
		c.ExternalURL = scheme + "://" + c.Addr
	}
	if _, err := parsePrefixes(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("trusted_proxies: %w", err))
	}
	if c.TLS.SelfSigned && (c.TLS.CertFile != "" || c.TLS.KeyFile != "") {
		errs = append(errs, errors.New("tls: self_signed and cert_file/key_file exclude each other"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert_file and key_file go together"))
	}
	if c.TLS.SelfSigned && c.DataDir == "" {
		errs = append(errs, errors.New("tls: self_signed keeps its CA in the data directory"))
	}
	return errors.Join(errs...)
}

func (t TLSConfig) enabled() bool { return t.CertFile != "" || t.SelfSigned }

// The stores behind the server, for embedders that act on them directly
// (provisioning, tests); nil when auth is off.

// Projects is the project store.
func (s *Server) Projects() *project.Store {
	return ident(s, func(id *identity) *project.Store { return id.projects })
}

// Users is the user store.
func (s *Server) Users() *auth.Users {
	return ident(s, func(id *identity) *auth.Users { return id.users })
}

// Robots is the robot account store.
func (s *Server) Robots() *auth.Robots {
	return ident(s, func(id *identity) *auth.Robots { return id.robots })
}

// AuditLog is the audit log's store, for queries.
func (s *Server) AuditLog() *audit.Store {
	return ident(s, func(id *identity) *audit.Store { return id.audit })
}

// Audit records entries in the audit log; Close it (or the Server) to
// flush what is buffered.
func (s *Server) Audit() *audit.Recorder {
	return ident(s, func(id *identity) *audit.Recorder { return id.recorder })
}

// Tokens is the token service.
func (s *Server) Tokens() *token.Service {
	return ident(s, func(id *identity) *token.Service { return id.tokens })
}

func ident[T any](s *Server, f func(*identity) T) T {
	var zero T
	if s.id == nil {
		return zero
	}
	return f(s.id)
}
