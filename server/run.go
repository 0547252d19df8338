package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
)

// Run serves the server on Config.Addr until ctx ends: see Serve.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves the server on ln (HTTPS with HTTP/2 when Config.TLS says
// so), and the debug and metrics listeners when configured, until ctx
// ends; then it shuts down gracefully: in-flight requests get up to 30
// seconds. It closes ln, not the server.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.DebugAddr != "" {
		go serveDebug(ctx, s.cfg.DebugAddr, s.log)
	}
	if s.cfg.MetricsAddr != "" {
		go serveMetrics(ctx, s.cfg.MetricsAddr, s.metrics, s.log)
	}
	tlsCfg := s.tls
	if s.admission != nil {
		// Opened here, not in the background: a webhook that cannot listen
		// would refuse every pod under failurePolicy Fail, so fail loudly.
		aln, err := net.Listen("tcp", s.cfg.Admission.Addr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("admission.addr: %w", err)
		}
		go serveAdmission(ctx, aln, s.admission, tlsCfg, s.log)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsCfg,
	}
	s.log.Info("berth listening", "addr", ln.Addr().String(), "data", s.cfg.DataDir, "tls", tlsCfg != nil)
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "") // HTTP/2 and HTTP/1.1, certificates from TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serveAdmission serves the admission webhook on its own listener until
// ctx ends (HTTPS when the server has TLS: the API server calls webhooks
// over HTTPS only).
func serveAdmission(ctx context.Context, ln net.Listener, h http.Handler, tlsCfg *tls.Config, log *slog.Logger) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10, TLSConfig: tlsCfg}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("admission webhook listening", "addr", ln.Addr().String(), "tls", tlsCfg != nil)
	var err error
	if tlsCfg != nil {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("admission webhook stopped", "err", err)
	}
}

// openJobs opens the durable job runner on the server's database (not
// started: features register their workers first) and returns the
// assembly the features fill in.
func (s *Server) openJobs(ctx context.Context, cfg Config, log *slog.Logger) (*Assembly, error) {
	pool, err := s.st.db.NewPool(ctx, 4)
	if err != nil && !s.st.owned {
		// An embedder's in-memory database takes no second pool: the jobs
		// get a private in-memory database, which lives as long as they do.
		pool, err = memoryPool(ctx)
	}
	if err != nil {
		return nil, err
	}
	s.jobDB = pool
	if err := jobs.Migrate(ctx, pool); err != nil {
		return nil, err
	}
	// This process holds the database exclusively (berth.lock): a job
	// still marked running was cut off by a crash, not being worked. On
	// a shared database another node may be working it: River's rescuer
	// hands back jobs running longer than their rescue time instead.
	if s.st.db.Exclusive() {
		if n, err := jobs.RescueOrphans(ctx, pool); err != nil {
			return nil, err
		} else if n > 0 {
			log.Warn("jobs interrupted by the last shutdown will run again", "count", n)
		}
	}
	ws := jobs.NewWorkers()
	// Workers added to ws before Start are seen by the runner: River keeps
	// the bundle, not a copy.
	runner, err := jobs.New(pool, jobs.WithWorkers(ws), jobs.WithLogger(log.With("component", "jobs")))
	if err != nil {
		return nil, err
	}
	s.jobs = runner
	return &Assembly{ctx: ctx, cfg: cfg, log: log, st: s.st, id: s.id, workers: ws, runner: runner}, nil
}

// healthProbe is a digest no blob has: asking the store for it proves the
// store answers (an unknown blob is an answer).
var healthProbe = digest.FromString("berth health probe")

// live answers a liveness probe: the process serves HTTP. It asks no
// dependency, so an unreachable database makes a node unready (/healthz),
// never restarted.
func live(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

// health answers 200 while the database and the blob store answer (a
// readiness check: a load balancer stops sending requests to a node that
// cannot reach either), 503 naming the one that does not.
func health(db *sqldb.DB, blobs storage.Blobs) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var one int
		if err := db.QueryRow(r.Context(), `SELECT 1`).Scan(&one); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		if _, err := blobs.Stat(r.Context(), healthProbe); err != nil && !errors.Is(err, storage.ErrBlobUnknown) {
			http.Error(w, "blob storage unavailable", http.StatusServiceUnavailable)
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

// purgeUploads ends abandoned upload sessions older than maxAge, hourly.
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

// memoryPool is a private in-memory SQLite database on one connection.
func memoryPool(ctx context.Context) (*sql.DB, error) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	pool, err := sql.Open("sqlite", fmt.Sprintf("file:berth-jobs-%x?mode=memory&cache=shared&_pragma=busy_timeout(10000)", id))
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(0)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
