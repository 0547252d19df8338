// Command server is berth's reference registry server: the OCI distribution
// API on the embedded default (filesystem blobs + SQLite) in one data
// directory.
//
//	go run ./examples/server                 # 127.0.0.1:5000, data under ./data
//	go run ./examples/server -addr :5000 -data /var/lib/berth
//
// It serves /v2/ (the registry), /healthz and Prometheus /metrics, logs
// requests and registry events with slog, and shuts down gracefully on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/filesystem"
)

type config struct {
	addr         string
	dataDir      string
	logLevel     string
	sparse       bool
	maxManifest  int64
	uploadMaxAge time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:5000", "listen address")
	flag.StringVar(&cfg.dataDir, "data", "./data", "data directory (blobs and the SQLite database)")
	flag.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.BoolVar(&cfg.sparse, "sparse-manifests", false, "accept manifests whose layers or child manifests are not pushed (mirrors)")
	flag.Int64Var(&cfg.maxManifest, "max-manifest-bytes", registry.DefaultMaxManifestSize, "largest manifest accepted")
	flag.DurationVar(&cfg.uploadMaxAge, "upload-max-age", 7*24*time.Hour, "abandoned upload sessions older than this are purged")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("berth stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.dataDir, 0o750); err != nil {
		return err
	}
	blobs, err := filesystem.New(filepath.Join(cfg.dataDir, "storage"))
	if err != nil {
		return err
	}
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(cfg.dataDir, "berth.db"))
	if err != nil {
		return err
	}
	defer db.Close()

	opts := []registry.Option{
		registry.WithLogger(log),
		registry.WithEventSink(logEvents(log)),
		registry.WithMaxManifestSize(cfg.maxManifest),
	}
	if cfg.sparse {
		opts = append(opts, registry.WithSparseManifests())
	}
	reg, err := registry.New(ctx, blobs, db, opts...)
	if err != nil {
		return err
	}
	go purgeUploads(ctx, reg, cfg.uploadMaxAge, log)

	m := newMetrics()
	mux := http.NewServeMux()
	mux.Handle("/v2/", m.instrument(reg))
	mux.Handle("/v2", m.instrument(reg))
	mux.HandleFunc("GET /healthz", health(db))
	mux.Handle("GET /metrics", m.handler())

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           logRequests(log, mux),
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
