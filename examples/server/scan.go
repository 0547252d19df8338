package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/adapter"
	"github.com/berthlabs/berth/sqldb"
)

// scanConfig holds the vulnerability scanning flags.
type scanConfig struct {
	unscanned   string
	failed      string
	scanTimeout time.Duration
	adapterPath string
	trivy       trivyConfig
	// builtin, when set, replaces builtinScanner (tests plug fakes in).
	builtin func(ctx context.Context, w *wiring) (string, scan.Scanner, scan.SBOMGenerator, error)
}

// scannerAdapterTokenEnv names the variable holding the token Harbor (or
// another berth) presents to use this server's built-in scanner.
const scannerAdapterTokenEnv = "BERTH_SCANNER_ADAPTER_TOKEN"

// scanCatchUpWindow is how far back a start looks for pushes that
// scan-on-push missed; older ones wait for scan-all.
const scanCatchUpWindow = 24 * time.Hour

// scannerActor is who the built-in scanner reads the registry as.
var scannerActor = registry.SystemActor("built-in scanner")

func (c *scanConfig) addFlags(fs *flag.FlagSet) {
	c.trivy.addFlags(fs)
	fs.StringVar(&c.unscanned, "scan-unscanned", "allow", "vulnerability gate for artifacts not (yet) scanned: allow or deny")
	fs.StringVar(&c.failed, "scan-failed", "allow", "vulnerability gate for artifacts whose last scan failed: allow or deny")
	fs.DurationVar(&c.scanTimeout, "scan-timeout", 30*time.Minute, "longest one scan attempt may run")
	fs.StringVar(&c.adapterPath, "scan-adapter-path", "/scanner-adapter",
		"serve the built-in scanner as a Harbor pluggable scanner adapter under this path (with "+scannerAdapterTokenEnv+" set; empty: off)")
}

// wireScanning adds vulnerability scanning to the server: the scan service
// (reports, tasks, allowlists, scanner registrations, scan-all schedule)
// on the server's database and job queue, its pull gate and scan-on-push
// sink, its API, and the built-in scanner served as a Harbor adapter.
func wireScanning(w *wiring) error {
	if w.id == nil {
		w.log.Info("vulnerability scanning needs projects: it is off while authentication is off")
		return nil
	}
	cfg := w.cfg.features.scan
	unscanned, err := scan.ParseRule(cfg.unscanned)
	if err != nil {
		return fmt.Errorf("-scan-unscanned: %w", err)
	}
	failed, err := scan.ParseRule(cfg.failed)
	if err != nil {
		return fmt.Errorf("-scan-failed: %w", err)
	}
	builtin := builtinScanner
	if cfg.builtin != nil {
		builtin = cfg.builtin
	}
	name, sc, gen, err := builtin(w.ctx, w)
	if err != nil {
		return fmt.Errorf("built-in scanner: %w", err)
	}
	creds := &scannerCreds{robots: w.id.robots, externalURL: w.cfg.externalURL, internalURL: internalURL(w.cfg.addr),
		ttl: cfg.scanTimeout + time.Hour,
		log: w.log, active: map[string]string{}}
	w.id.systemNames = append(w.id.systemNames, creds.systemName)
	key, err := w.secretKey()
	if err != nil {
		return err
	}
	opts := []scan.Option{
		scan.WithSecretKey(key),
		scan.WithQueue(w.runner),
		scan.WithProjects(w.id.projects),
		scan.WithRegistry(w.st.reg, scannerActor),
		scan.WithAdapters(adapter.NewClientFor, creds.source),
		scan.WithExempt(creds.exempt),
		scan.WithRules(unscanned, failed),
		scan.WithScanTimeout(cfg.scanTimeout),
		scan.WithLogger(w.log.With("component", "scan")),
	}
	if sc != nil {
		opts = append(opts, scan.WithScanner(name, sc))
	}
	if gen != nil {
		opts = append(opts, scan.WithSBOMGenerator(gen))
	}
	return wireScanService(w, cfg, opts, sc, gen)
}

// wireScanService builds the service from opts and adds it to the server.
func wireScanService(w *wiring, cfg scanConfig, opts []scan.Option, sc scan.Scanner, gen scan.SBOMGenerator) error {
	svc, err := scan.NewService(w.ctx, w.st.db, opts...)
	if err != nil {
		return err
	}
	w.closers = append(w.closers, func() { _ = svc.Close() })
	// A project's scan settings are keyed by its id; its deletion frees
	// them in the same transaction.
	w.id.projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
		return svc.ForgetProject(ctx, tx, p.ID)
	})
	if err := svc.Register(w.workers); err != nil {
		return err
	}
	w.startJobs = true
	*w.gates = append(*w.gates, svc.Gate())
	*w.sinks = append(*w.sinks, svc.Sink())
	w.apiOpts = append(w.apiOpts, api.WithScanning(svc))
	if err := svc.StartSchedule(w.ctx); err != nil {
		return err
	}
	// Pushes whose scan-on-push hand-off a crash or stop swallowed.
	caughtUp := make(chan struct{})
	go func() {
		defer close(caughtUp)
		n, err := svc.CatchUp(w.ctx, time.Now().Add(-scanCatchUpWindow))
		if err != nil && w.ctx.Err() == nil {
			w.log.Warn("catching up on scan-on-push", "err", err)
		} else if n > 0 {
			w.log.Info("queued scans that scan-on-push missed", "count", n)
		}
	}()
	w.closers = append(w.closers, func() { <-caughtUp })
	token := os.Getenv(scannerAdapterTokenEnv)
	if sc != nil && cfg.adapterPath != "" && token != "" {
		prefix := "/" + strings.Trim(cfg.adapterPath, "/")
		srvOpts := []adapter.ServerOption{adapter.WithAuthorizer(adapter.RequireToken(token)),
			adapter.WithServerLogger(w.log.With("component", "scanner-adapter"))}
		if gen != nil {
			srvOpts = append(srvOpts, adapter.WithSBOM(gen))
		}
		h := http.StripPrefix(prefix, adapter.NewServer(sc, srvOpts...))
		w.routes = append(w.routes, func(mux *http.ServeMux) { mux.Handle(prefix+"/", h) })
		w.log.Info("serving the built-in scanner as a Harbor scanner adapter", "url", w.cfg.externalURL+prefix)
	}
	return nil
}

// scannerCreds gives external scanners (Harbor adapters) a credential to
// pull the artifact they scan: a system robot allowed to pull in the
// artifact's project, made for one scan and removed after it (and expiring
// on its own should the server stop mid-scan). The vulnerability gate lets
// these robots through.
type scannerCreds struct {
	robots      *auth.Robots
	externalURL string
	internalURL string // for registrations with use_internal_addr
	ttl         time.Duration
	log         *slog.Logger

	mu     sync.Mutex
	active map[string]string // robot name -> what it is for
}

func (c *scannerCreds) source(ctx context.Context, reg scan.Registration, a scan.Artifact) (scan.Source, func(), error) {
	base := c.externalURL
	if reg.UseInternal {
		base = c.internalURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return scan.Source{}, nil, fmt.Errorf("registry URL %q for the scanner: %v", base, err)
	}
	proj, _, _ := strings.Cut(a.Repository, "/")
	purpose := fmt.Sprintf("scanner %q, scanning %s@%s", reg.Name, a.Repository, a.Digest)
	ctx = registry.WithActor(ctx, registry.SystemActor(purpose))
	r, secret, err := c.robots.Create(ctx, auth.Robot{
		Name:        "scanner-" + strings.ToLower(rand.Text()[:12]),
		Level:       auth.RobotSystem,
		Description: fmt.Sprintf("pulls %s@%s for scanner %q; removed after the scan", a.Repository, a.Digest, reg.Name),
		Permissions: []auth.RobotPermission{{Project: proj, Resource: "repository", Action: "pull"}},
		ExpiresAt:   time.Now().Add(c.ttl),
	})
	if err != nil {
		return scan.Source{}, nil, fmt.Errorf("creating the scanner's robot account: %w", err)
	}
	c.mu.Lock()
	c.active[r.Name] = purpose
	c.mu.Unlock()
	release := func() {
		c.mu.Lock()
		delete(c.active, r.Name)
		c.mu.Unlock()
		if err := c.robots.Delete(context.WithoutCancel(ctx), r.Name); err != nil {
			c.log.Warn("removing a scanner's robot account", "robot", r.Name, "err", err)
		}
	}
	return scan.Source{Registry: u.Host, Insecure: u.Scheme == "http",
		Authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte(r.Name+":"+secret))}, release, nil
}

// exempt reports whether actor is a scanner's robot of a scan in progress.
func (c *scannerCreds) exempt(actor string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.active[actor]
	return ok
}

// systemName is the SystemActor a scanner's robot pulls as, in the audit.
func (c *scannerCreds) systemName(actor string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	purpose, ok := c.active[actor]
	if !ok {
		return "", false
	}
	return registry.SystemActor(purpose), true
}

// internalURL is the server's own listening address, for scanners that
// run beside it (Harbor's use_internal_addr): an unspecified host is
// reached on loopback.
func internalURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
