package trivy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	trivydb "github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy/pkg/cache"

	"github.com/berthlabs/berth/scan"
)

// Scanner scans images in a registry with Trivy. It implements
// scan.Scanner and scan.SBOMGenerator.
//
// Trivy keeps its vulnerability DB in one process-wide handle, so only one
// Scanner may be open in a process at a time: New fails while another is
// open, and Close releases the slot. The Scanner itself is safe for
// concurrent use; the layer analysis of concurrent scans takes turns (see
// the package documentation).
type Scanner struct {
	cfg      config
	cache    cache.Cache
	dbDir    string
	ownDBDir bool // a temporary DB dir that Close removes
	cron     *cron.Cron
	done     chan struct{}
	updateMu sync.Mutex // one DB update at a time

	// guarded by global
	open bool
	meta metadata.Metadata
}

var errClosed = errors.New("trivy: scanner closed")

// New opens a Scanner: the layer cache, and the vulnerability DB — loaded
// from the DB directory, or downloaded there first if the directory holds
// none (unless WithOffline).
func New(ctx context.Context, opts ...Option) (*Scanner, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.repos) == 0 {
		cfg.repos = defaultRepositories()
	}
	s := &Scanner{cfg: cfg, dbDir: cfg.dbDir, done: make(chan struct{})}

	global.Lock()
	if global.owner != nil {
		global.Unlock()
		return nil, errors.New("trivy: another Scanner is open in this process (Trivy's vulnerability DB handle is process-wide)")
	}
	global.owner = s
	global.Unlock()

	installLogger(cfg.logger)
	if s.cfg.logger == nil {
		s.cfg.logger = slog.New(slog.DiscardHandler)
	}

	if err := s.init(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Scanner) init(ctx context.Context) error {
	if s.cfg.schedule != "" && s.cfg.offline {
		return errors.New("trivy: WithUpdateSchedule and WithOffline exclude each other")
	}
	if s.cfg.cacheDir != "" {
		fc, err := cache.NewFSCache(s.cfg.cacheDir)
		if err != nil {
			return fmt.Errorf("trivy: layer cache: %w", err)
		}
		s.cache = fc
	} else {
		s.cache = cache.NewMemoryCache()
	}

	if s.dbDir == "" {
		if s.cfg.offline {
			return errors.New("trivy: WithOffline needs WithDBDir")
		}
		parent, err := os.MkdirTemp("", "berth-trivy-")
		if err != nil {
			return fmt.Errorf("trivy: %w", err)
		}
		s.dbDir, s.ownDBDir = filepath.Join(parent, "db"), true
	}

	if hasDB(s.dbDir) {
		global.Lock()
		err := s.openDB()
		global.Unlock()
		if err != nil {
			return err
		}
	} else if s.cfg.offline {
		return fmt.Errorf("trivy: offline and no vulnerability DB in %s", s.dbDir)
	}
	if !s.cfg.offline {
		if err := os.MkdirAll(filepath.Dir(s.dbDir), 0o700); err != nil {
			return fmt.Errorf("trivy: %w", err)
		}
		// A DB already on disk is good enough to start with; the schedule
		// (or the caller) refreshes it.
		if !s.loaded() {
			if err := s.UpdateDB(ctx); err != nil {
				return err
			}
		}
	}

	if s.cfg.schedule != "" {
		s.cron = cron.New()
		if _, err := s.cron.AddFunc(s.cfg.schedule, s.scheduledUpdate); err != nil {
			return fmt.Errorf("trivy: update schedule %q: %w", s.cfg.schedule, err)
		}
		s.cron.Start()
	}
	return nil
}

// Close stops scheduled updates, closes the DB and the layer cache, and
// lets another Scanner open in this process.
func (s *Scanner) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	if s.cron != nil {
		<-s.cron.Stop().Done()
	}
	s.updateMu.Lock() // wait for a running update
	defer s.updateMu.Unlock()

	var errs []error
	global.Lock()
	if global.owner == s {
		if s.open {
			errs = append(errs, trivydb.Close())
			s.open = false
		}
		global.owner = nil
	}
	global.Unlock()
	if s.cache != nil {
		errs = append(errs, s.cache.Close())
	}
	if s.ownDBDir {
		errs = append(errs, os.RemoveAll(filepath.Dir(s.dbDir)))
	}
	return errors.Join(errs...)
}

// DBMetadata returns the loaded vulnerability DB's metadata (schema
// version, UpdatedAt, NextUpdate, DownloadedAt).
func (s *Scanner) DBMetadata() (metadata.Metadata, bool) {
	global.RLock()
	defer global.RUnlock()
	return s.meta, s.open
}

// Report and metadata media types.
const (
	// VulnerabilityReportMediaType is Harbor's vulnerability report type.
	VulnerabilityReportMediaType = "application/vnd.security.vulnerability.report; version=1.1"
)

// Metadata describes Trivy and the loaded DB, with Harbor's scanner
// adapter property names.
func (s *Scanner) Metadata(context.Context) (scan.Metadata, error) {
	m := scan.Metadata{
		Scanner: scannerInfo(),
		Consumes: []string{
			"application/vnd.oci.image.manifest.v1+json",
			"application/vnd.docker.distribution.manifest.v2+json",
			"application/vnd.oci.image.index.v1+json",
			"application/vnd.docker.distribution.manifest.list.v2+json",
		},
		Produces: []string{VulnerabilityReportMediaType, scan.SPDXJSON, scan.CycloneDXJSON},
		Properties: map[string]string{
			"harbor.scanner-adapter/scanner-type": "os-package-vulnerability",
			"berth.trivy/db-repositories":         repoNames(s.cfg.repos),
		},
	}
	if meta, ok := s.DBMetadata(); ok {
		m.Properties["harbor.scanner-adapter/vulnerability-database-updated-at"] = meta.UpdatedAt.UTC().Format(time.RFC3339)
		m.Properties["harbor.scanner-adapter/vulnerability-database-next-update-at"] = meta.NextUpdate.UTC().Format(time.RFC3339)
	}
	return m, nil
}

// trivyModule is the module whose version Metadata reports.
const trivyModule = "github.com/aquasecurity/trivy"

// TrivyVersion is the Trivy release this package is built and tested
// against (go.mod's requirement; a test keeps the two equal). Reports
// carry the version actually linked when the binary records it.
const TrivyVersion = "v0.74.0"

func scannerInfo() scan.ScannerInfo {
	v := TrivyVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == trivyModule {
				v = d.Version
				if d.Replace != nil && d.Replace.Version != "" {
					v = d.Replace.Version
				}
			}
		}
	}
	return scan.ScannerInfo{Name: "Trivy", Vendor: "Aqua Security", Version: v}
}
