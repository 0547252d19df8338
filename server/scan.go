package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
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

// BuiltinScanner opens the scanner compiled into a binary (Trivy in the
// reference server): its name, the scanner and, optionally, an SBOM
// generator; nil scanner for none. It may add closers and read
// Config.Trivy through the Assembly.
type BuiltinScanner func(ctx context.Context, a *Assembly) (name string, sc scan.Scanner, gen scan.SBOMGenerator, err error)

// WithBuiltinScanner plugs in the scanner compiled into the binary; the
// server package itself links none.
func WithBuiltinScanner(b BuiltinScanner) Option { return func(o *options) { o.builtin = b } }

// scanCatchUpWindow is how far back a start looks for pushes that
// scan-on-push missed; older ones wait for scan-all.
const scanCatchUpWindow = 24 * time.Hour

// scannerActor is who the built-in scanner reads the registry as.
var scannerActor = registry.SystemActor("built-in scanner")

// wireScanning adds vulnerability scanning to the server: the scan service
// (reports, tasks, allowlists, scanner registrations, scan-all schedule)
// on the server's database and job queue, its pull gate and scan-on-push
// sink, its API, and the built-in scanner served as a Harbor adapter.
func scanning(builtin BuiltinScanner) Feature {
	return FeatureFunc(func(a *Assembly) error { return wireScanning(a, builtin) })
}

func wireScanning(w *Assembly, builtin BuiltinScanner) error {
	if w.id == nil {
		w.log.Info("vulnerability scanning needs projects: it is off while authentication is off")
		return nil
	}
	cfg := w.cfg.Scan
	unscanned, err := scan.ParseRule(cfg.Unscanned)
	if err != nil {
		return fmt.Errorf("scan.unscanned: %w", err)
	}
	failed, err := scan.ParseRule(cfg.Failed)
	if err != nil {
		return fmt.Errorf("scan.failed: %w", err)
	}
	var (
		name string
		sc   scan.Scanner
		gen  scan.SBOMGenerator
	)
	if builtin != nil {
		if name, sc, gen, err = builtin(w.ctx, w); err != nil {
			return fmt.Errorf("built-in scanner: %w", err)
		}
	}
	creds := &scannerCreds{robots: w.id.robots, externalURL: w.cfg.ExternalURL, internalURL: internalURL(w.cfg.Addr),
		ttl: cfg.Timeout + time.Hour,
		log: w.log, active: map[string]string{}}
	w.id.systemNames = append(w.id.systemNames, creds.systemName)
	key, err := w.SecretKey()
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
		scan.WithScanTimeout(cfg.Timeout),
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
func wireScanService(w *Assembly, cfg ScanConfig, opts []scan.Option, sc scan.Scanner, gen scan.SBOMGenerator) error {
	svc, err := scan.NewService(w.ctx, w.st.db, opts...)
	if err != nil {
		return err
	}
	w.AddCloser(func() { _ = svc.Close() })
	// A project's scan settings are keyed by its id; its deletion frees
	// them in the same transaction.
	w.id.projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
		return svc.ForgetProject(ctx, tx, p.ID)
	})
	if err := svc.Register(w.Workers()); err != nil {
		return err
	}
	w.AddPullGate(svc.Gate())
	w.AddEventSink(svc.Sink())
	w.AddAPIOptions(api.WithScanning(followScanAllSchedule(w, svc)))
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
	w.AddCloser(func() { <-caughtUp })
	if sc != nil && cfg.AdapterPath != "" && cfg.AdapterToken != "" {
		prefix := "/" + strings.Trim(cfg.AdapterPath, "/")
		srvOpts := []adapter.ServerOption{adapter.WithAuthorizer(adapter.RequireToken(cfg.AdapterToken)),
			adapter.WithServerLogger(w.log.With("component", "scanner-adapter"))}
		if gen != nil {
			srvOpts = append(srvOpts, adapter.WithSBOM(gen))
		}
		h := http.StripPrefix(prefix, adapter.NewServer(sc, srvOpts...))
		w.Handle(prefix+"/", h)
		w.log.Info("serving the built-in scanner as a Harbor scanner adapter", "url", w.cfg.ExternalURL+prefix)
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
