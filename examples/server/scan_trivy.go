//go:build goexperiment.jsonv2

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/trivy"
)

// trivyDBActor is who the DB download reads this server's registry as.
const trivyDBActor = "(trivy-db)"

// builtinScanner is Trivy, opened in the background: a fresh server has no
// vulnerability DB yet, and fetching one may fail (no network, the
// air-gapped repository not pushed yet), which must not stop the server.
// Until the DB is there, scans fail with that reason and are retried by
// their jobs.
func builtinScanner(ctx context.Context, w *wiring) (string, scan.Scanner, scan.SBOMGenerator, error) {
	cfg := w.cfg.features.scan.trivy
	if !cfg.enabled {
		return "", nil, nil, nil
	}
	opts := []trivy.Option{
		trivy.WithCacheDir(filepath.Join(w.cfg.dataDir, "trivy", "cache")),
		trivy.WithDBDir(filepath.Join(w.cfg.dataDir, "trivy", "db")),
		trivy.WithLogger(w.log.With("component", "trivy")),
		trivy.WithUpdateSchedule(cfg.dbUpdate),
	}
	switch {
	case cfg.dbInBerth != "":
		repo, tag, ok := strings.Cut(cfg.dbInBerth, ":")
		if !ok || repo == "" || tag == "" {
			return "", nil, nil, fmt.Errorf("-trivy-db-from-berth %q: want repository:tag", cfg.dbInBerth)
		}
		opts = append(opts, trivy.WithDBRepository("berth.internal/"+repo+":"+tag, w.st.reg.Transport(trivyDBActor), true))
	case cfg.dbRepository != "":
		opts = append(opts, trivy.WithDBRepository(cfg.dbRepository, nil, false))
	}
	lt := &lazyTrivy{err: errors.New("trivy: opening (fetching the vulnerability DB)")}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lt.open(ctx, opts, cfg.retry, w)
	}()
	w.closers = append(w.closers, func() {
		cancel()
		<-done
		lt.close()
	})
	return "Trivy", lt, lt, nil
}

// lazyTrivy is the Trivy scanner once it has opened.
type lazyTrivy struct {
	mu  sync.RWMutex
	s   *trivy.Scanner
	err error // why s is nil
}

// open retries trivy.New every retry until it succeeds or ctx ends.
func (l *lazyTrivy) open(ctx context.Context, opts []trivy.Option, retry time.Duration, w *wiring) {
	for {
		s, err := trivy.New(ctx, opts...)
		if err == nil {
			l.mu.Lock()
			l.s, l.err = s, nil
			l.mu.Unlock()
			md, _ := s.DBMetadata()
			w.log.Info("trivy scanner ready", "db_updated_at", md.UpdatedAt)
			return
		}
		if ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		l.err = fmt.Errorf("trivy: no vulnerability DB yet (retrying every %s): %w", retry, err)
		l.mu.Unlock()
		w.log.Warn("trivy scanner unavailable; scans fail until its vulnerability DB is fetched", "err", err, "retry_in", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

func (l *lazyTrivy) get() (*trivy.Scanner, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.s, l.err
}

func (l *lazyTrivy) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s != nil {
		_ = l.s.Close()
		l.s, l.err = nil, errors.New("trivy: closed")
	}
}

func (l *lazyTrivy) Metadata(ctx context.Context) (scan.Metadata, error) {
	s, err := l.get()
	if err != nil {
		return scan.Metadata{}, err
	}
	return s.Metadata(ctx)
}

func (l *lazyTrivy) Scan(ctx context.Context, req scan.Request) (*scan.Report, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	return s.Scan(ctx, req)
}

func (l *lazyTrivy) SBOM(ctx context.Context, req scan.Request, format string) ([]byte, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	return s.SBOM(ctx, req, format)
}
