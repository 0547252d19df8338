package trivy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/berthlabs/berth/scan"
)

// Background is a Scanner opened in the background: a new server has no
// vulnerability DB yet, and fetching one may fail (no network, the
// air-gapped repository not pushed yet), which must not stop the server.
// Until the scanner is open, Scan, SBOM and Metadata fail with the reason
// (scan jobs retry); New is retried every retry until it succeeds or ctx
// ends. Close it when done.
//
//	sc := trivy.OpenInBackground(ctx, time.Minute, log, trivy.WithDBDir(dir))
//	defer sc.Close()
type Background struct {
	mu     sync.RWMutex
	s      *Scanner
	err    error // why s is nil
	cancel context.CancelFunc
	done   chan struct{}
}

// OpenInBackground starts opening a Scanner with opts.
func OpenInBackground(ctx context.Context, retry time.Duration, log *slog.Logger, opts ...Option) *Background {
	ctx, cancel := context.WithCancel(ctx)
	b := &Background{err: errors.New("trivy: opening (fetching the vulnerability DB)"), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		b.open(ctx, opts, retry, log)
	}()
	return b
}

func (b *Background) open(ctx context.Context, opts []Option, retry time.Duration, log *slog.Logger) {
	for {
		s, err := New(ctx, opts...)
		if err == nil {
			b.mu.Lock()
			b.s, b.err = s, nil
			b.mu.Unlock()
			md, _ := s.DBMetadata()
			log.Info("trivy scanner ready", "db_updated_at", md.UpdatedAt)
			return
		}
		if ctx.Err() != nil {
			return
		}
		b.mu.Lock()
		b.err = fmt.Errorf("trivy: no vulnerability DB yet (retrying every %s): %w", retry, err)
		b.mu.Unlock()
		log.Warn("trivy scanner unavailable; scans fail until its vulnerability DB is fetched", "err", err, "retry_in", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

func (b *Background) get() (*Scanner, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.s, b.err
}

// Close stops opening and closes the scanner.
func (b *Background) Close() error {
	b.cancel()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s == nil {
		return nil
	}
	err := b.s.Close()
	b.s, b.err = nil, errors.New("trivy: closed")
	return err
}

// Metadata implements scan.Scanner.
func (b *Background) Metadata(ctx context.Context) (scan.Metadata, error) {
	s, err := b.get()
	if err != nil {
		return scan.Metadata{}, err
	}
	return s.Metadata(ctx)
}

// Scan implements scan.Scanner.
func (b *Background) Scan(ctx context.Context, req scan.Request) (*scan.Report, error) {
	s, err := b.get()
	if err != nil {
		return nil, err
	}
	return s.Scan(ctx, req)
}

// SBOM implements scan.SBOMGenerator.
func (b *Background) SBOM(ctx context.Context, req scan.Request, format string) ([]byte, error) {
	s, err := b.get()
	if err != nil {
		return nil, err
	}
	return s.SBOM(ctx, req, format)
}
