package main

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/filesystem"
)

// dbFile is the SQLite database's name inside the data directory; blobs
// live under storageDir next to it.
const (
	dbFile     = "berth.db"
	storageDir = "storage"
)

// store is an open data directory: a registry over the filesystem driver at
// <dir>/storage and SQLite at <dir>/berth.db.
type store struct {
	reg *registry.Registry
	db  *sqldb.DB
}

// openStore opens the data directory dir, creating what is missing, and
// builds the registry over it with opts. Close it when done.
func openStore(ctx context.Context, dir string, opts ...registry.Option) (*store, error) {
	blobs, err := filesystem.New(filepath.Join(dir, storageDir))
	if err != nil {
		return nil, err
	}
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		return nil, err
	}
	reg, err := registry.New(ctx, blobs, db, opts...)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return &store{reg: reg, db: db}, nil
}

func (s *store) Close() error { return s.db.Close() }
