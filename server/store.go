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
	"github.com/berthlabs/berth/storage/filesystem"
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
	reg   *registry.Registry
	db    *sqldb.DB
	blobs storage.Driver
	lock  *os.File // nil for an embedder's store, which it closes itself
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

// openStore opens the data directory dir, creating what is missing; call
// openRegistry next. Close it when done.
//
// One process owns a data directory at a time (an exclusive lock on
// <dir>/berth.lock): the registry caches manifests in memory on the promise
// that no other process writes the database behind its back.
func openStore(ctx context.Context, dir string, log *slog.Logger) (*store, error) {
	if err := privateDir(dir, log); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	// SQLite creates its -wal and -shm files with the database file's
	// mode: creating it 0600 first keeps all three private.
	if err := createPrivate(filepath.Join(dir, dbFile)); err != nil {
		return nil, errors.Join(err, lock.Close())
	}
	blobs, err := filesystem.New(filepath.Join(dir, storageDir))
	if err != nil {
		return nil, errors.Join(err, lock.Close())
	}
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		return nil, errors.Join(err, lock.Close())
	}
	return &store{db: db, blobs: blobs, lock: lock}, nil
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
	if s.lock == nil {
		return nil
	}
	return errors.Join(s.db.Close(), s.lock.Close())
}

// lockDir takes the data directory's exclusive lock, released when the
// file is closed or the process dies.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by another berth process (stop it first): %w", dir, err)
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
