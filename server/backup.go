package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage/filesystem"
)

// backupLockFile in a backup directory is held by the backup writing it.
const backupLockFile = "backup.lock"

// BackupReport is what one Backup wrote.
type BackupReport struct {
	Generation  string // the directory in the backup holding this snapshot
	Snapshots   int    // database snapshots taken (more than one when GC removed a blob meanwhile)
	Blobs       int    // blobs the snapshot references, all in the backup
	NewBlobs    int    // copied by this run
	ReusedBlobs int    // already in the backup from an earlier run
	NewBytes    int64  // bytes of the new blobs
	BlobBytes   int64  // bytes of all the snapshot's blobs
	Files       int    // key and state files copied
	Notes       []string
}

// BackupOption configures Backup.
type BackupOption func(*backupOptions)

type backupOptions struct {
	log      *slog.Logger
	attempts int
	now      func() time.Time
	// afterSnapshot runs between a snapshot and the copy of its blobs
	// (tests remove a blob there, as a concurrent GC would).
	afterSnapshot func(attempt int)
}

// WithBackupLogger logs the backup's progress to log.
func WithBackupLogger(log *slog.Logger) BackupOption {
	return func(o *backupOptions) { o.log = log }
}

// WithBackupAttempts bounds the database snapshots one backup takes when
// garbage collection removes a blob between a snapshot and its copy
// (default 5).
func WithBackupAttempts(n int) BackupOption {
	return func(o *backupOptions) { o.attempts = max(n, 1) }
}

// Backup copies the embedded installation in cfg.DataDir into the backup
// directory dir, online: a server may serve from the data directory
// meanwhile (Backup takes no lock and blocks no writer). It writes
//
//	dir/backup.json              the manifest, written last: the backup is complete when it names a generation
//	dir/gen-<time>/berth.db      the database, one consistent SQLite snapshot (VACUUM INTO, one read transaction)
//	dir/gen-<time>/blobs.list    every blob the snapshot references: "<digest> <size>" lines
//	dir/gen-<time>/files/...     keys and state files (secret.key, token.key, token-retired/, tls/, ...)
//	dir/storage/blobs/...        blobs by digest, shared by the generations
//
// Blobs are content-addressed, so a second Backup into the same dir copies
// only the blobs it lacks (incremental) and replaces the snapshot and the
// files; the previous generation stays valid until the new manifest
// replaces it. Each blob is verified against its digest while copied and
// appears only by an atomic, fsynced rename. A blob the snapshot references
// that garbage collection removed before its copy makes Backup take a new
// snapshot (which no longer references it), a bounded number of times.
// Restore rebuilds a data directory from dir.
//
// Scale-out stores (database.url, storage.s3) are refused: back them up
// with PostgreSQL's and the object store's own tools (docs/backup.md).
func Backup(ctx context.Context, cfg Config, dir string, opts ...BackupOption) (BackupReport, error) {
	o := backupOptions{log: slog.New(slog.DiscardHandler), attempts: 5, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	var rep BackupReport
	if cfg.Database.URL != "" || cfg.Storage.S3.Bucket != "" {
		return rep, errors.New("backup: this is a scale-out store (database.url, storage.s3): back up PostgreSQL and " +
			"the bucket with their own tools, database first (see docs/backup.md)")
	}
	if err := isDataDir(cfg); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	if err := separateDirs(cfg.DataDir, dir); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	// One backup at a time per directory: each removes the generations
	// but its own once its manifest is written, which would remove the
	// one a concurrent backup's manifest names.
	lock, err := lockFileAt(filepath.Join(dir, backupLockFile), "backup directory "+dir+" is in use by another backup")
	if err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	defer lock.Close()
	rep.Generation = "gen-" + o.now().UTC().Format("20060102T150405.000000000Z")
	gen := filepath.Join(dir, rep.Generation)
	if err := os.Mkdir(gen, 0o700); err != nil {
		return rep, fmt.Errorf("backup: %w", err)
	}
	m, err := backupInto(ctx, cfg, dir, gen, &o, &rep)
	if err != nil {
		return rep, errors.Join(fmt.Errorf("backup: %w", err), os.RemoveAll(gen))
	}
	m.Created, m.Generation = o.now().UTC(), rep.Generation
	if err := writeManifest(dir, m); err != nil {
		return rep, errors.Join(fmt.Errorf("backup: %w", err), os.RemoveAll(gen))
	}
	// The new manifest is on disk: older generations are garbage.
	if err := removeOtherGenerations(dir, rep.Generation); err != nil {
		rep.Notes = append(rep.Notes, "could not remove an older generation: "+err.Error())
	}
	o.log.Info("backup written", "dir", dir, "generation", rep.Generation, "blobs", rep.Blobs,
		"new", rep.NewBlobs, "reused", rep.ReusedBlobs, "new_bytes", rep.NewBytes)
	return rep, nil
}

// backupInto writes the snapshot, its blobs and the state files into gen
// and returns the manifest describing them.
func backupInto(ctx context.Context, cfg Config, dir, gen string, o *backupOptions, rep *BackupReport) (*backupManifest, error) {
	from, err := filesystem.New(filepath.Join(cfg.DataDir, storageDir))
	if err != nil {
		return nil, err
	}
	to, err := filesystem.New(filepath.Join(dir, storageDir))
	if err != nil {
		return nil, err
	}
	copied := map[digest.Digest]bool{}
	var blobs []blobEntry
	for attempt := 1; ; attempt++ {
		rep.Snapshots = attempt
		refs, err := snapshot(ctx, filepath.Join(cfg.DataDir, dbFile), filepath.Join(gen, dbFile))
		if err != nil {
			return nil, fmt.Errorf("database snapshot: %w", err)
		}
		if o.afterSnapshot != nil {
			o.afterSnapshot(attempt)
		}
		var missing []string
		if blobs, missing, err = copyReferencedBlobs(ctx, from, to, refs, copied); err != nil {
			return nil, err
		}
		if len(missing) == 0 {
			break
		}
		if attempt >= o.attempts {
			return nil, fmt.Errorf("%d snapshots referenced blobs missing from %s (the last: %s): if no garbage collection "+
				"is running, the data directory is damaged (run server check)", attempt, cfg.DataDir, strings.Join(missing, ", "))
		}
		o.log.Info("blobs removed since the snapshot (garbage collection): taking a new one", "missing", len(missing))
	}
	rep.count(blobs, copied)
	m := &backupManifest{Format: backupFormat, BerthVersion: Version, Blobs: rep.Blobs, BlobBytes: rep.BlobBytes}
	if m.Database, err = describeFile(gen, dbFile); err != nil {
		return nil, err
	}
	if m.BlobList, err = writeBlobList(gen, blobs); err != nil {
		return nil, err
	}
	if m.Files, err = copyStateFiles(cfg.DataDir, filepath.Join(gen, filesDir)); err != nil {
		return nil, fmt.Errorf("state files: %w", err)
	}
	rep.Files = len(m.Files)
	if cfg.SecretKeyFile != "" {
		rep.Notes = append(rep.Notes, "secret_key_file "+cfg.SecretKeyFile+
			" is outside the data directory and not in the backup: keep a copy of it (stored credentials are sealed with it)")
	}
	return m, syncDir(gen)
}

// separateDirs refuses a backup directory inside the data directory or
// holding it: one would copy itself into the other.
func separateDirs(dataDir, dir string) error {
	a, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	b, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if within(a, b) || within(b, a) {
		return fmt.Errorf("the backup directory %s and the data directory %s must not contain one another", dir, dataDir)
	}
	return nil
}

// within reports whether path is dir or below it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel) || rel == "."
}

// removeOtherGenerations removes every generation directory but keep,
// including those an interrupted backup left.
func removeOtherGenerations(dir, keep string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "gen-") && e.Name() != keep {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}
