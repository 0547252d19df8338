package trivy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	trivydb "github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	tdb "github.com/aquasecurity/trivy/pkg/db"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	"github.com/aquasecurity/trivy/pkg/oci"
)

// Trivy reads its vulnerability DB through one process-wide bolt handle
// (trivy-db's db.Init/db.Close). global mirrors that: scans hold it for
// reading, a DB swap holds it for writing, and owner is the one Scanner
// allowed to open the handle.
var global struct {
	sync.RWMutex
	owner *Scanner
}

// digestFile records, next to trivy.db, which manifest the DB came from,
// so an update downloads only when the repository moved on.
const digestFile = "berth-db-digest"

// ErrNoDB is returned by Scan when no vulnerability DB is loaded.
var ErrNoDB = errors.New("trivy: no vulnerability database loaded")

// UpdateDB downloads the vulnerability DB if its repository holds a
// different one than the loaded DB, then swaps it in between scans. The
// download runs while scans continue; only the swap waits for them.
func (s *Scanner) UpdateDB(ctx context.Context) error {
	if s.cfg.offline {
		return errors.New("trivy: offline: the vulnerability DB is not downloaded")
	}
	s.updateMu.Lock()
	defer s.updateMu.Unlock()
	select {
	case <-s.done:
		return errClosed
	default:
	}

	art, repo, digest, err := s.resolveDB(ctx)
	if err != nil {
		return err
	}
	if cur, err := os.ReadFile(filepath.Join(s.dbDir, digestFile)); err == nil && string(cur) == digest && s.loaded() {
		s.cfg.logger.DebugContext(ctx, "trivy: vulnerability DB is current", "repository", repo, "digest", digest)
		return nil
	}

	staging, err := os.MkdirTemp(filepath.Dir(s.dbDir), ".trivy-db-new-")
	if err != nil {
		return fmt.Errorf("trivy: DB staging dir: %w", err)
	}
	defer os.RemoveAll(staging)
	// Trivy's normal DB path: its DB client downloads the OCI artifact's
	// single layer and unpacks trivy.db and metadata.json.
	client := tdb.NewClient(staging, true, tdb.WithOCIArtifact(art))
	if err := client.Download(ctx, staging, ftypes.RegistryOptions{}); err != nil {
		return fmt.Errorf("trivy: download vulnerability DB from %s: %w", repo, err)
	}
	meta, err := metadata.NewClient(staging).Get()
	if err != nil {
		return fmt.Errorf("trivy: vulnerability DB from %s: %w", repo, err)
	}
	if meta.Version != trivydb.SchemaVersion {
		return fmt.Errorf("trivy: vulnerability DB from %s has schema %d, this Trivy reads %d", repo, meta.Version, trivydb.SchemaVersion)
	}
	if err := os.WriteFile(filepath.Join(staging, digestFile), []byte(digest), 0o600); err != nil {
		return fmt.Errorf("trivy: %w", err)
	}
	if err := s.swapDB(staging); err != nil {
		return err
	}
	s.cfg.logger.InfoContext(ctx, "trivy: vulnerability DB updated", "repository", repo, "digest", digest,
		"updated_at", meta.UpdatedAt, "next_update", meta.NextUpdate)
	return nil
}

// resolveDB finds the DB artifact in the first repository that answers.
func (s *Scanner) resolveDB(ctx context.Context) (*oci.Artifact, string, string, error) {
	var errs []error
	for _, r := range s.cfg.repos {
		art, err := r.artifact(ctx)
		if err == nil {
			var d string
			if d, err = art.Digest(ctx); err == nil {
				return art, r.ref, d, nil
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", r.ref, err))
	}
	return nil, "", "", fmt.Errorf("trivy: no vulnerability DB repository answered: %w", errors.Join(errs...))
}

func (r dbRepository) artifact(ctx context.Context) (*oci.Artifact, error) {
	opts := ftypes.RegistryOptions{Insecure: r.insecure}
	if r.transport == nil {
		return oci.NewArtifact(r.ref, opts), nil
	}
	var nopts []name.Option
	if r.insecure {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(r.ref, nopts...)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithTransport(r.transport))
	if err != nil {
		return nil, err
	}
	return oci.NewArtifact(r.ref, opts, oci.WithImage(img)), nil
}

// swapDB replaces the DB directory with staging and reopens Trivy's
// handle, holding the global lock so that no scan sees the change.
func (s *Scanner) swapDB(staging string) error {
	global.Lock()
	defer global.Unlock()
	if global.owner != s {
		return errClosed
	}
	if s.open {
		if err := trivydb.Close(); err != nil {
			return fmt.Errorf("trivy: close vulnerability DB: %w", err)
		}
		s.open = false
	}
	old := ""
	if _, err := os.Stat(s.dbDir); err == nil {
		old = s.dbDir + ".old"
		_ = os.RemoveAll(old)
		if err := os.Rename(s.dbDir, old); err != nil {
			return fmt.Errorf("trivy: %w", err)
		}
	}
	if err := os.Rename(staging, s.dbDir); err != nil {
		if old != "" {
			_ = os.Rename(old, s.dbDir)
			_ = s.openDB()
		}
		return fmt.Errorf("trivy: %w", err)
	}
	if err := s.openDB(); err != nil {
		if old != "" { // keep serving the previous DB
			_ = os.RemoveAll(s.dbDir)
			_ = os.Rename(old, s.dbDir)
			if rerr := s.openDB(); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return err
	}
	if old != "" {
		_ = os.RemoveAll(old)
	}
	return nil
}

// openDB opens Trivy's global handle on s.dbDir, read-only. The caller
// holds global for writing.
func (s *Scanner) openDB() error {
	if err := tdb.Init(s.dbDir); err != nil {
		return fmt.Errorf("trivy: open vulnerability DB in %s: %w", s.dbDir, err)
	}
	meta, err := metadata.NewClient(s.dbDir).Get()
	if err == nil && meta.Version != trivydb.SchemaVersion {
		err = fmt.Errorf("schema %d, this Trivy reads %d", meta.Version, trivydb.SchemaVersion)
	}
	if err != nil {
		_ = trivydb.Close()
		return fmt.Errorf("trivy: vulnerability DB metadata in %s: %w", s.dbDir, err)
	}
	s.meta = meta
	s.open = true
	return nil
}

// hasDB reports whether dir holds a DB of the schema this Trivy reads.
func hasDB(dir string) bool {
	if _, err := os.Stat(trivydb.Path(dir)); err != nil {
		return false
	}
	meta, err := metadata.NewClient(dir).Get()
	return err == nil && meta.Version == trivydb.SchemaVersion
}

func (s *Scanner) loaded() bool {
	global.RLock()
	defer global.RUnlock()
	return s.open
}

// scheduledUpdate is the cron job: an update failure keeps the current DB.
func (s *Scanner) scheduledUpdate() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := s.UpdateDB(ctx); err != nil && !errors.Is(err, context.Canceled) {
		s.cfg.logger.LogAttrs(ctx, slog.LevelError, "trivy: scheduled vulnerability DB update failed", slog.Any("error", err))
	}
}

func defaultRepositories() []dbRepository {
	return []dbRepository{
		{ref: tdb.DefaultGCRRepository},
		{ref: tdb.DefaultGHCRRepository},
	}
}

func repoNames(rs []dbRepository) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.ref
	}
	return strings.Join(names, ", ")
}
