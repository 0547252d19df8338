package export

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Status is an execution's state, spelled as Harbor's.
type Status string

// Statuses.
const (
	Running Status = "Running"
	Success Status = "Success"
	Error   Status = "Error"
)

// TriggerManual is the trigger of every export: a user asked for it.
const TriggerManual = "MANUAL"

// Bounds.
const (
	MaxFileBytes   = 32 << 20 // one export's CSV
	DefaultTimeout = 5 * time.Minute
	DefaultKeep    = 20 // executions kept per user
)

// Criteria select what an export covers (Harbor's ScanDataExportRequest).
type Criteria struct {
	JobName      string  `json:"job_name,omitempty"`
	Projects     []int64 `json:"projects"`
	Labels       []int64 `json:"labels,omitempty"`
	Repositories string  `json:"repositories,omitempty"` // a pattern; empty: all
	CVEIDs       string  `json:"cve_ids,omitempty"`      // a list; empty: all
	Tags         string  `json:"tags,omitempty"`         // a pattern; empty: all
}

// Owner is who asked for an export: a user, told apart from a user made
// later under the same name by its creation time.
type Owner struct {
	Name  string
	Since time.Time // when the user was created
}

// Execution is one export.
type Execution struct {
	ID          int64
	Owner       Owner
	Criteria    Criteria
	Status      Status
	StatusText  string
	Trigger     string
	StartedAt   time.Time
	EndedAt     time.Time // zero while running
	Records     int       // rows of the file, header aside
	FilePresent bool
}

// Store keeps executions and their files in SQL. It is safe for
// concurrent use.
type Store struct {
	db      *sqldb.DB
	now     func() time.Time
	timeout time.Duration
	keep    int
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the time source.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithTimeout bounds how long Run lets a producer write (default
// DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(s *Store) { s.timeout = d } }

// WithKeep sets how many executions each user keeps (default DefaultKeep).
func WithKeep(n int) Option { return func(s *Store) { s.keep = n } }

// New applies the package's migrations to db and returns a Store over it.
func New(ctx context.Context, db *sqldb.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("export: a database is required")
	}
	s := &Store{db: db, now: time.Now, timeout: DefaultTimeout, keep: DefaultKeep}
	for _, o := range opts {
		o(s)
	}
	if s.now == nil || s.timeout <= 0 || s.keep < 1 {
		return nil, errors.New("export: a clock, a positive timeout and keep of at least 1 are required")
	}
	if err := db.MigrateDialect(ctx, "scan_export", migrations); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return s, nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// start records a running execution for o and deletes o's executions
// beyond the newest keep.
func (s *Store) start(ctx context.Context, o Owner, c Criteria) (Execution, error) {
	crit, err := json.Marshal(c)
	if err != nil {
		return Execution{}, fmt.Errorf("export: encoding criteria: %w", err)
	}
	now := s.now().UTC()
	e := Execution{Owner: o, Criteria: c, Status: Running, Trigger: TriggerManual, StartedAt: now}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO scan_exports (owner_name, owner_since, job_name, criteria, status, trigger, started_at, deadline)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, o.Name, o.Since.UnixNano(), c.JobName, string(crit), Running, TriggerManual,
			nanos(now), nanos(now.Add(s.timeout+time.Minute))).Scan(&e.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM scan_exports WHERE owner_name = ? AND owner_since = ? AND id NOT IN
			(SELECT id FROM scan_exports WHERE owner_name = ? AND owner_since = ? ORDER BY id DESC LIMIT ?)`,
			o.Name, o.Since.UnixNano(), o.Name, o.Since.UnixNano(), s.keep)
		return err
	})
	return e, err
}

// end finishes a running execution: a success with file, or an error
// with why (file nil).
func (s *Store) end(ctx context.Context, id int64, status Status, why string, file []byte, records int) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE scan_exports SET status = ?, status_text = ?, ended_at = ?, record_count = ?, file = ?
			WHERE id = ? AND status = ?`, status, why, nanos(s.now()), records, file, id, Running)
		return err
	})
}

const cols = `id, owner_name, owner_since, criteria, status, status_text, trigger, started_at, ended_at, deadline, record_count,
	file IS NOT NULL`

func (s *Store) scan(row interface{ Scan(...any) error }) (Execution, error) {
	var (
		e               Execution
		crit            string
		since, sta, end int64
		expires         int64
	)
	if err := row.Scan(&e.ID, &e.Owner.Name, &since, &crit, &e.Status, &e.StatusText, &e.Trigger, &sta, &end, &expires,
		&e.Records, &e.FilePresent); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(crit), &e.Criteria); err != nil {
		return e, fmt.Errorf("export: stored criteria of execution %d: %w", e.ID, err)
	}
	e.Owner.Since, e.StartedAt, e.EndedAt = time.Unix(0, since).UTC(), fromNanos(sta), fromNanos(end)
	if e.Status == Running && s.now().UnixNano() > expires {
		e.Status, e.StatusText, e.EndedAt = Error, "interrupted: the export did not finish (the server stopped?)", fromNanos(expires)
	}
	return e, nil
}

// Get returns execution id, or an error wrapping core.ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Execution, error) {
	e, err := s.scan(s.db.QueryRow(ctx, `SELECT `+cols+` FROM scan_exports WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("export execution %d: %w", id, core.ErrNotFound)
	}
	return e, err
}

// List returns the executions of o, newest first.
func (s *Store) List(ctx context.Context, o Owner) ([]Execution, error) {
	rows, err := s.db.Query(ctx, `SELECT `+cols+` FROM scan_exports WHERE owner_name = ? AND owner_since = ?
		ORDER BY id DESC LIMIT ?`, o.Name, o.Since.UnixNano(), s.keep)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Execution{}
	for rows.Next() {
		e, err := s.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// File returns the CSV of execution id, or an error wrapping
// core.ErrNotFound when it has none (not finished, or failed).
func (s *Store) File(ctx context.Context, id int64) ([]byte, error) {
	var f []byte
	err := s.db.QueryRow(ctx, `SELECT file FROM scan_exports WHERE id = ? AND file IS NOT NULL`, id).Scan(&f)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("export execution %d has no file: %w", id, core.ErrNotFound)
	}
	return f, err
}
