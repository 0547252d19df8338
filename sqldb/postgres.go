package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Defaults of OpenPostgres.
const (
	DefaultMaxConns         = 16
	DefaultStatementTimeout = 30 * time.Second
)

// postgresIdleTimeout is how long an unused connection stays open: idle
// connections still count against the server's max_connections, which
// several nodes (and Harbor's own components) share.
const postgresIdleTimeout = 5 * time.Minute

// PostgresOption configures OpenPostgres.
type PostgresOption func(*postgresSettings)

type postgresSettings struct {
	maxConns         int
	statementTimeout time.Duration
}

// WithMaxConns bounds the connections this DB opens (default
// DefaultMaxConns). Callers beyond it wait for a free connection: every
// process of a cluster takes its share of the server's max_connections,
// and running out of them fails logins everywhere.
func WithMaxConns(n int) PostgresOption {
	return func(s *postgresSettings) { s.maxConns = n }
}

// WithStatementTimeout sets the statement_timeout of every connection
// (default DefaultStatementTimeout; 0 leaves the server's or the URL's
// setting): the server cancels a statement running longer, so a runaway
// query cannot hold its locks and its connection indefinitely. Whole
// transactions are bounded by the caller's context instead.
func WithStatementTimeout(d time.Duration) PostgresOption {
	return func(s *postgresSettings) { s.statementTimeout = d }
}

// OpenPostgres connects to PostgreSQL (pgx v5 through database/sql) at url,
// a "postgres://user:pass@host:port/db?sslmode=..." URL or a key=value
// connection string, and checks that the server answers.
//
// Unlike SQLite, PostgreSQL is shared: Exclusive reports false, so
// packages keep no in-process copies of its rows, and writers run
// concurrently (see Write for the isolation level and retries). Reads and
// writes share one pool of at most WithMaxConns connections. Statements
// are prepared once per connection and query text by pgx's own statement
// cache (512 per connection, invalidated when a schema change makes one
// stale), not by DB's, which would keep a statement broken by another
// node's migration.
func OpenPostgres(ctx context.Context, url string, opts ...PostgresOption) (*DB, error) {
	set := postgresSettings{maxConns: DefaultMaxConns, statementTimeout: DefaultStatementTimeout}
	for _, o := range opts {
		o(&set)
	}
	if set.maxConns < 1 {
		return nil, fmt.Errorf("open postgres: WithMaxConns(%d): need at least one connection", set.maxConns)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err) // pgx's message masks the password
	}
	if set.statementTimeout > 0 {
		// A startup parameter: every connection, including those opened
		// after a reconnect, starts with it.
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(set.statementTimeout.Milliseconds(), 10)
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "berth" // names the connections in pg_stat_activity
	}
	pool, err := openPostgresPool(ctx, cfg, set.maxConns)
	if err != nil {
		return nil, err
	}
	return &DB{dialect: Postgres, writer: pool, reader: pool, pgConfig: cfg, retryWrites: true}, nil
}

func openPostgresPool(ctx context.Context, cfg *pgx.ConnConfig, maxConns int) (*sql.DB, error) {
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(maxConns)
	pool.SetMaxIdleConns(maxConns)
	pool.SetConnMaxIdleTime(postgresIdleTimeout)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	return pool, nil
}

// maxWriteAttempts bounds how often Write runs fn when PostgreSQL aborts
// its transaction for a deadlock or a serialization failure.
const maxWriteAttempts = 4

// retryable reports whether PostgreSQL aborted a transaction only because
// of its timing against another one (SQLSTATE 40001 serialization_failure,
// 40P01 deadlock_detected): running it again from the start succeeds.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// migrationLockKey is the pg_advisory_xact_lock key every migration
// transaction takes, so migrators on several nodes run one at a time and
// each sees the versions the others recorded. Any fixed number will do;
// this one is "berth" in ASCII.
const migrationLockKey int64 = 0x6265727468

// Unavailable reports whether err means the database could not answer
// now, though it may in a moment: PostgreSQL unreachable, shutting down
// or out of connections (SQLSTATE classes 08 and 53, 57P01–57P03), a
// statement cancelled by the statement timeout (57014), a connection cut
// mid-statement. Servers answer these 503 with Retry-After rather than
// 500: nothing is wrong with the request, and the pool reconnects by
// itself once the database is back.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch c := pgErr.Code; {
		case strings.HasPrefix(c, "08"), strings.HasPrefix(c, "53"), c == "57014", c == "57P01", c == "57P02", c == "57P03":
			return true
		}
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn) || pgconn.Timeout(err)
}
