package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
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
	blobs *filesystem.Driver
	lock  *os.File
}

// openStore opens the data directory dir, creating what is missing; call
// openRegistry next. Close it when done.
//
// One process owns a data directory at a time (an exclusive lock on
// <dir>/berth.lock): the registry caches manifests in memory on the promise
// that no other process writes the database behind its back.
func openStore(ctx context.Context, dir string) (*store, error) {
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
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

func (s *store) Close() error { return errors.Join(s.db.Close(), s.lock.Close()) }

// lockDir takes the data directory's exclusive lock, released when the
// file is closed or the process dies.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by another berth process (stop it first): %w", dir, err)
	}
	return f, nil
}
