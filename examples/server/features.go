package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/registry"
)

// featureConfig holds the flags of the optional features; each feature
// file owns its field and registers its flags in addFlags.
type featureConfig struct {
	scan      scanConfig
	trust     trustConfig
	repl      replConfig
	secretKey string // file of the key sealing stored credentials
}

func (f *featureConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.secretKey, "secret-key", "", "32-byte key file that encrypts stored credentials (replication endpoints, scanner adapters) at rest (default <data>/secret.key, created if missing)")
	f.scan.addFlags(fs)
	f.trust.addFlags(fs)
	f.repl.addFlags(fs)
}

// wiring is what a feature gets while the server is assembled, and where
// it leaves what it adds. Features run after the registry is open and
// before the API, the routes and the job runner start.
type wiring struct {
	ctx     context.Context
	cfg     config
	log     *slog.Logger
	st      *store
	id      *identity // nil when auth is off
	workers *river.Workers
	runner  *jobs.Runner // not started until every feature is wired
	gates   *pullGates
	sinks   *eventSinks
	apiOpts []api.Option
	routes  []func(mux *http.ServeMux)
	closers []func()
	// startJobs is set by a feature that registered a worker; River
	// refuses to start with none.
	startJobs bool
}

// wireFeatures runs each optional feature's wiring in turn.
func wireFeatures(w *wiring) error {
	return errors.Join(wireScanning(w), wireTrust(w), wireReplication(w))
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

// openJobs opens the durable job runner on the server's database (not
// started: features register their workers first) and returns the wiring
// the features fill in.
func (a *app) openJobs(ctx context.Context, cfg config, log *slog.Logger) (*wiring, error) {
	pool, err := a.st.db.NewPool(ctx, 4)
	if err != nil {
		return nil, err
	}
	a.jobDB = pool
	if err := jobs.Migrate(ctx, pool); err != nil {
		return nil, err
	}
	// This process holds the data directory exclusively (berth.lock): a
	// job still marked running was cut off by a crash, not being worked.
	if n, err := jobs.RescueOrphans(ctx, pool); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("jobs interrupted by the last shutdown will run again", "count", n)
	}
	ws := river.NewWorkers()
	// Workers added to ws before Start are seen by the runner: River keeps
	// the bundle, not a copy.
	runner, err := jobs.New(pool, jobs.WithWorkers(ws), jobs.WithLogger(log.With("component", "jobs")))
	if err != nil {
		return nil, err
	}
	a.jobs = runner
	return &wiring{ctx: ctx, cfg: cfg, log: log, st: a.st, id: a.id, workers: ws, runner: runner}, nil
}

// stopJobs lets running jobs finish for a while, then cancels them (they
// run again after the next start).
func (a *app) stopJobs(log *slog.Logger) {
	if a.jobs != nil && a.jobsStarted {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := a.jobs.Stop(ctx); err != nil {
			log.Warn("stopping jobs", "err", err)
		}
		cancel()
	}
}

// secretKey is the key that seals credentials the features store.
func (w *wiring) secretKey() ([]byte, error) {
	path := w.cfg.features.secretKey
	if path == "" {
		path = filepath.Join(w.cfg.dataDir, "secret.key")
	}
	key, err := loadOrCreateKey(path)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return key, nil
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
