package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/diskcache"
	"github.com/berthlabs/berth/storage/filesystem"
	"github.com/berthlabs/berth/storage/s3"
)

// dbFile is the SQLite database's name inside the data directory; blobs
// live under storageDir next to it.
const (
	dbFile     = "berth.db"
	storageDir = "storage"
	lockFile   = "berth.lock"
)

// store is an open data directory: a registry over the filesystem driver at
// <dir>/storage and SQLite at <dir>/berth.db.
type store struct {
	reg     *registry.Registry
	db      *sqldb.DB
	blobs   storage.Driver
	lock    *os.File // the data directory's, when the database is in it
	owned   bool     // opened here and closed by Close; an embedder closes its own
	changes *changes // between the nodes sharing db
	// secretKey seals stored credentials; loaded on first use.
	secretKey []byte
}

// embeddedStore is a store over an embedder's blobs and database, with no
// data directory. Without a secret key file its secret key lives in
// memory: what it seals does not survive a restart, and processes sharing
// the database cannot read each other's (give them one secret_key_file).
func embeddedStore(blobs storage.Driver, db *sqldb.DB, secretKeyFile string) *store {
	st := &store{db: db, blobs: blobs}
	if secretKeyFile == "" {
		st.secretKey = make([]byte, 32)
		_, _ = rand.Read(st.secretKey)
	}
	return st
}

// openStore opens what cfg names, creating what is missing: the data
// directory's SQLite database and blobs by default, or PostgreSQL
// (Database.URL) and an S3 bucket (Storage.S3). Call openRegistry next;
// Close it when done.
//
// One process owns a data directory's database at a time (an exclusive
// lock on <dir>/berth.lock): the registry caches manifests in memory on
// the promise that no other process writes the database behind its back.
// A shared database takes no lock: every node writes it, and the caches
// that promise needs stay off (sqldb.DB.Exclusive).
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (_ *store, err error) {
	st := &store{owned: true}
	defer func() {
		if err != nil {
			err = errors.Join(err, st.Close())
		}
	}()
	if dir := cfg.DataDir; dir != "" {
		if err := privateDir(dir, log); err != nil {
			return nil, err
		}
	}
	if cfg.Database.URL == "" {
		if st.lock, err = lockDir(cfg.DataDir); err != nil {
			return nil, err
		}
		// SQLite creates its -wal and -shm files with the database file's
		// mode: creating it 0600 first keeps all three private.
		if err := createPrivate(filepath.Join(cfg.DataDir, dbFile)); err != nil {
			return nil, err
		}
		if st.db, err = sqldb.OpenSQLite(ctx, filepath.Join(cfg.DataDir, dbFile)); err != nil {
			return nil, err
		}
	} else if st.db, err = sqldb.OpenPostgres(ctx, cfg.Database.URL, sqldb.WithMaxConns(int(cfg.Database.MaxConns)),
		sqldb.WithStatementTimeout(cfg.Database.StatementTimeout)); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if cfg.Storage.S3.Bucket != "" {
		if st.blobs, err = openS3(ctx, cfg.Storage.S3); err != nil {
			return nil, fmt.Errorf("storage.s3: %w", err)
		}
	} else if st.blobs, err = filesystem.New(filepath.Join(cfg.DataDir, storageDir)); err != nil {
		return nil, err
	}
	return st, nil
}

// openS3 opens the bucket c names.
func openS3(ctx context.Context, c S3Config) (storage.Driver, error) {
	var opts []s3.Option
	if c.Endpoint != "" {
		opts = append(opts, s3.WithEndpoint(c.Endpoint))
	}
	if c.Region != "" {
		opts = append(opts, s3.WithRegion(c.Region))
	}
	if c.AccessKey != "" {
		opts = append(opts, s3.WithCredentials(c.AccessKey, c.SecretKey))
	}
	if c.PathStyle {
		opts = append(opts, s3.WithPathStyle())
	}
	if c.Prefix != "" {
		opts = append(opts, s3.WithPrefix(c.Prefix))
	}
	d, err := s3.New(ctx, c.Bucket, opts...)
	if err != nil {
		return nil, err
	}
	if c.CacheDir == "" {
		return d, nil
	}
	return diskcache.New(d, c.CacheDir, c.CacheMaxBytes)
}

// openRegistry builds the registry over the store with opts.
func (s *store) openRegistry(ctx context.Context, opts ...registry.Option) error {
	reg, err := registry.New(ctx, s.blobs, s.db, opts...)
	if err != nil {
		return err
	}
	s.reg = reg
	return nil
}

func (s *store) Close() error {
	if !s.owned {
		return nil
	}
	var errs []error
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// lockDir takes the data directory's exclusive lock, released when the
// file is closed or the process dies.
func lockDir(dir string) (*os.File, error) {
	return lockFileAt(filepath.Join(dir, lockFile), "data directory "+dir+" is in use by another berth process (stop it first)")
}

// lockFileAt takes an exclusive lock on the file at path (created if
// missing), without waiting: busy says why not, when another process
// holds it.
func lockFileAt(path, busy string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", busy, err)
	}
	return f, nil
}

// privateDir creates the data directory 0700, or tightens an existing
// one: it holds the database (password hashes, sealed credentials), the
// signing keys and every blob. Files already in it are made 0600. What
// cannot be tightened (a directory owned by someone else) is logged, not
// fatal: the operator may have reasons.
func privateDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		log.Warn("cannot make the data directory private (0700)", "dir", dir, "err", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o600); err != nil {
			log.Warn("cannot make a data file private (0600)", "file", e.Name(), "err", err)
		}
	}
	return nil
}

// createPrivate creates path empty with mode 0600 unless it exists.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
