package chart

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"github.com/berthlabs/berth/core"
	"log/slog"
	"sync"
	"time"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
)

//go:embed migrations
var migrations embed.FS

// DefaultMaxArchiveSize bounds an uploaded chart archive (20 MiB).
const DefaultMaxArchiveSize = 20 << 20

// maxProvSize bounds an uploaded provenance file.
const maxProvSize = 1 << 20

// Errors; match them with errors.Is (or errors.As for *TooLargeError).
var (
	// ErrExists: the chart version is already stored and force was not set.
	ErrExists = core.New(core.ErrExists, "chart version already exists")
	// ErrNotFound: no such chart or chart version.
	ErrNotFound = core.New(core.ErrNotFound, "chart not found")
	// ErrInvalidChart: the archive is not a valid chart.
	ErrInvalidChart = core.New(core.ErrInvalid, "invalid chart")
	// ErrInvalidProvenance: the .prov file does not verify.
	ErrInvalidProvenance = core.New(core.ErrInvalid, "invalid provenance")
)

// TooLargeError reports an upload over the configured size limit.
type TooLargeError struct {
	What  string // "chart archive" or "provenance file"
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than the limit of %d bytes", e.What, e.Limit)
}

// Repo is a set of per-project chart repositories over one blob store and
// one SQL database.
type Repo struct {
	blobs   storage.Driver
	db      *sqldb.DB
	log     *slog.Logger
	maxSize int64
	// maxBundle bounds imported bundles.
	maxBundle int64
	keyring   string
	now       func() time.Time
	events    EventSink
	// projects resolves names to ids; nil: the Repo numbers names itself.
	projects Projects
	// gc coordinates with the shared blob store's garbage collector.
	gc BlobCoordinator

	mu    sync.Mutex
	cache map[int64]cachedIndex // project id -> rendered index.yaml
}

type cachedIndex struct {
	generation int64
	body       []byte
}

// Option configures a Repo.
type Option func(*Repo)

// WithMaxArchiveSize bounds uploaded archives (default 20 MiB).
func WithMaxArchiveSize(n int64) Option { return func(r *Repo) { r.maxSize = n } }

// WithKeyring verifies every uploaded .prov file against this OpenPGP
// keyring file (as `helm verify --keyring` does); a .prov that does not
// verify is refused. Without a keyring .prov files are stored unverified.
func WithKeyring(path string) Option { return func(r *Repo) { r.keyring = path } }

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Repo) { r.log = l } }

// WithClock sets the clock used for created and generated timestamps.
func WithClock(now func() time.Time) Option { return func(r *Repo) { r.now = now } }

// WithEventSink receives an event after every upload and delete.
func WithEventSink(s EventSink) Option { return func(r *Repo) { r.events = s } }

// New builds a Repo and applies the chart package's migrations to db. A nil
// db gets a private in-memory SQLite database.
func New(ctx context.Context, blobs storage.Driver, db *sqldb.DB, opts ...Option) (*Repo, error) {
	if blobs == nil {
		return nil, errors.New("chart: a storage driver is required")
	}
	if db == nil {
		var err error
		if db, err = sqldb.OpenSQLiteMemory(ctx); err != nil {
			return nil, err
		}
	}
	if err := db.MigrateDialect(ctx, "chart", migrations); err != nil {
		return nil, err
	}
	r := &Repo{
		blobs:     blobs,
		db:        db,
		log:       slog.Default(),
		maxSize:   DefaultMaxArchiveSize,
		maxBundle: DefaultMaxBundleSize,
		now:       time.Now,
		cache:     map[int64]cachedIndex{},
	}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}
