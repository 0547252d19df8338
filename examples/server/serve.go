package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth/ldap"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

type config struct {
	addr         string
	dataDir      string
	logLevel     string
	sparse       bool
	maxManifest  int64
	uploadMaxAge time.Duration
	debugAddr    string
	metricsAddr  string
	// allowedOrigins may send browser requests that change state
	// (-allowed-origins), besides the server's own origin.
	allowedOrigins []string
	// trustedProxies may name the client in X-Forwarded-For.
	trustedProxies []netip.Prefix
	// noLoginThrottle turns off the slowing down of repeated failed
	// logins (-login-throttle=false).
	noLoginThrottle bool
	auth            bool
	externalURL     string
	ldapConfig      string
	features        featureConfig
}

// serveCmd parses the server's flags and serves until SIGINT or SIGTERM.
func serveCmd(args []string, stderr io.Writer) int {
	var cfg config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		usage(stderr)
		fmt.Fprintln(stderr, "\nserver flags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:5000", "listen address")
	fs.StringVar(&cfg.dataDir, "data", "./data", "data directory (blobs and the SQLite database)")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&cfg.sparse, "sparse-manifests", false, "accept manifests whose layers or child manifests are not pushed (mirrors)")
	fs.Int64Var(&cfg.maxManifest, "max-manifest-bytes", registry.DefaultMaxManifestSize, "largest manifest accepted")
	fs.BoolVar(&cfg.auth, "auth", true, "require authentication and RBAC (token service, users, robots, projects); off serves everyone")
	fs.StringVar(&cfg.externalURL, "external-url", "", "URL clients reach this server at, for token challenges (default http://<addr>)")
	fs.StringVar(&cfg.ldapConfig, "ldap-config", "", "JSON file configuring LDAP/AD login (bind password from BERTH_LDAP_BIND_PASSWORD)")
	fs.StringVar(&cfg.debugAddr, "debug-addr", "", "if set, serve Go's pprof profiles on this address (keep it private)")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "", "if set, serve Prometheus /metrics on this address, unauthenticated (keep it private), instead of on -addr for system admins only")
	fs.Func("allowed-origins", "comma-separated origins (scheme://host[:port]) whose browser pages may change state through the API and chart routes, besides the server's own", func(v string) error {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				cfg.allowedOrigins = append(cfg.allowedOrigins, o)
			}
		}
		return nil
	})
	fs.Func("trusted-proxies", "comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client (for login throttling and the audit log)", func(v string) error {
		p, err := parsePrefixes(v)
		cfg.trustedProxies = append(cfg.trustedProxies, p...)
		return err
	})
	fs.BoolFunc("login-throttle", "true (default) or false: answer 429 to clients and user names with many recent failed logins (doubling delays, never a lockout)", func(v string) error {
		on, err := strconv.ParseBool(v)
		cfg.noLoginThrottle = !on
		return err
	})
	fs.DurationVar(&cfg.uploadMaxAge, "upload-max-age", 7*24*time.Hour, "abandoned upload sessions older than this are purged")
	cfg.features.addFlags(fs)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if cfg.externalURL == "" {
		cfg.externalURL = "http://" + cfg.addr
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		fmt.Fprintln(stderr, "berth:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("berth stopped", "err", err)
		return 1
	}
	return 0
}

// parseFlags parses args into fs, refusing positional arguments. When it
// returns false the command should exit with code.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0, false
	} else if err != nil {
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "berth: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2, false
	}
	return 0, true
}

// version is reported by /api/v2.0/systeminfo.
const version = "0.1.0-dev"

// app is the assembled server: one handler for every endpoint, over one
// data directory.
type app struct {
	handler     http.Handler
	st          *store
	id          *identity // nil when auth is off
	jobs        *jobs.Runner
	jobDB       *sql.DB
	jobsStarted bool
	metrics     http.Handler // Prometheus, on the main mux or -metrics-addr
	closers     []func()     // run in reverse order by close
}

// newApp opens the data directory and wires every package. Close it when
// done; background work stops with ctx.
func newApp(ctx context.Context, cfg config, log *slog.Logger) (_ *app, err error) {
	st, err := openStore(ctx, cfg.dataDir, log)
	if err != nil {
		return nil, err
	}
	a := &app{st: st}
	defer func() {
		if err != nil {
			a.close(log)
		}
	}()
	opts := []registry.Option{
		registry.WithLogger(log),
		registry.WithMaxManifestSize(cfg.maxManifest),
	}
	if cfg.sparse {
		opts = append(opts, registry.WithSparseManifests())
	}
	sinks := &eventSinks{logEvents(log)}
	gates := &pullGates{}
	if cfg.auth {
		counter := func(ctx context.Context, project string) (int, error) { return st.reg.CountRepositories(ctx, project) }
		if a.id, err = openIdentity(ctx, st, cfg, log, counter); err != nil {
			return nil, err
		}
		// Projects are tenants: a mount without a source never crosses them,
		// and takes a blob only from a repository the caller may pull.
		pull := rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPull}
		opts = append(opts, registry.WithAuthorizer(a.id.gk), registry.WithProjectScopedAnonymousMount(),
			registry.WithMountSourceFilter(func(ctx context.Context, project, repo string) bool {
				return a.id.gk.CallerMay(ctx, project, repo, pull)
			}))
		*sinks = append(*sinks, a.id.registrySink())
		// Refused pulls and pushes of known callers (403, a gate's 412) are
		// audited as failures.
		opts = append(opts, registry.WithRefusalSink(a.id.registrySink()))
	} else {
		log.Warn("authentication is off: anyone who can reach this server may push, pull and delete")
	}
	opts = append(opts, registry.WithEventSink(sinks), registry.WithPullGate(gates))
	if err := st.openRegistry(ctx, opts...); err != nil {
		return nil, err
	}
	go purgeUploads(ctx, st.reg, cfg.uploadMaxAge, log)

	w, err := a.openJobs(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	w.gates, w.sinks = gates, sinks
	err = wireFeatures(w)
	a.closers = append(a.closers, w.closers...)
	if err != nil {
		return nil, err
	}
	if w.startJobs {
		if err := a.jobs.Start(ctx); err != nil {
			return nil, err
		}
		a.jobsStarted = true
	}

	m := newMetrics()
	mux := http.NewServeMux()
	if a.id != nil {
		mux.Handle("/service/token", a.id.tokens.Handler(a.id.gk, a.id.gk))
		apiOpts := append([]api.Option{api.WithVersion(version), api.WithExternalURL(cfg.externalURL),
			api.WithRealm(tokenRealm(cfg.externalURL)), api.WithLogger(log), api.WithGroupDN(ldap.CanonicalDN),
			api.WithAuditRecorder(a.id.recorder), api.WithAllowedOrigins(cfg.allowedOrigins...)}, w.apiOpts...)
		mgmt, err := api.New(api.Deps{Projects: a.id.projects, Users: a.id.users, Robots: a.id.robots,
			Audit: a.id.audit, Registry: st.reg, Access: a.id.gk}, apiOpts...)
		if err != nil {
			return nil, err
		}
		mux.Handle(api.BasePath+"/", mgmt)
	}
	if err := a.mountCharts(ctx, mux, cfg, log); err != nil {
		return nil, err
	}
	for _, add := range w.routes {
		add(mux)
	}
	mux.Handle("/v2/", m.instrument(st.reg))
	mux.Handle("/v2", m.instrument(st.reg))
	mux.HandleFunc("GET /healthz", health(st.db))
	a.metrics = m.handler()
	if cfg.metricsAddr == "" {
		mux.Handle("GET /metrics", adminOnly(a.id, a.metrics))
	}
	a.handler = behindProxies(cfg.trustedProxies, logRequests(log, mux))
	return a, nil
}

func (a *app) close(log *slog.Logger) {
	// Jobs stop first: running ones still use what the closers close.
	a.stopJobs(log)
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	if a.jobDB != nil {
		_ = a.jobDB.Close()
	}
	if a.id != nil {
		a.id.close(log)
	}
	_ = a.st.Close()
}

// run serves the app on cfg.addr until ctx ends, then shuts down
// gracefully: in-flight requests get up to 30 seconds to finish.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close(log)
	if cfg.debugAddr != "" {
		go serveDebug(ctx, cfg.debugAddr, log)
	}
	if cfg.metricsAddr != "" {
		go serveMetrics(ctx, cfg.metricsAddr, a.metrics, log)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("berth listening", "addr", ln.Addr().String(), "data", cfg.dataDir)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func health(db *sqldb.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var one int
		if err := db.QueryRow(r.Context(), `SELECT 1`).Scan(&one); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	}
}

// eventSinks sends each event to every sink in turn.
// Features append to it while the server is assembled, before it serves.
type eventSinks []registry.EventSink

func (s *eventSinks) Emit(ctx context.Context, e registry.Event) {
	for _, sink := range *s {
		sink.Emit(ctx, e)
	}
}

func logEvents(log *slog.Logger) registry.EventSink {
	return registry.EventSinkFunc(func(ctx context.Context, e registry.Event) {
		log.InfoContext(ctx, "event", "action", e.Action, "target", e.Target, "repository", e.Repository,
			"digest", e.Digest, "tag", e.Tag, "size", e.Size, "from", e.From, "remote", e.RemoteAddr)
	})
}

func purgeUploads(ctx context.Context, reg *registry.Registry, maxAge time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := reg.PurgeUploads(ctx, time.Now().Add(-maxAge))
		if err != nil && ctx.Err() == nil {
			log.Warn("purging uploads", "err", err)
		} else if n > 0 {
			log.Info("purged abandoned uploads", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
