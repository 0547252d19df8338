package label

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Scopes, Harbor's.
const (
	ScopeGlobal  = "g" // system-wide, attachable to any artifact
	ScopeProject = "p" // a project's own, attachable within it
)

// Bounds of a label's fields.
const (
	MaxNameLength        = 128
	MaxDescriptionLength = 1024
)

// Page sizes of listings.
const (
	DefaultPageSize = 20
	MaxPageSize     = 1000
)

// Label is a name, a description and a color that artifacts carry.
type Label struct {
	ID          int64 // assigned by Create, never reused
	Name        string
	Description string
	Color       string // "" or "#RRGGBB"
	Scope       string // ScopeGlobal or ScopeProject
	ProjectID   int64  // the project of a ScopeProject label; 0 for global ones
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Store keeps labels and their attachments in SQL. It is safe for
// concurrent use.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the time source of creation and update times.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New applies the package's migrations to db and returns a Store over it.
func New(ctx context.Context, db *sqldb.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("label: a database is required")
	}
	s := &Store{db: db, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if err := db.MigrateDialect(ctx, "label", migrations); err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	return s, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("label: "+format+": %w", append(args, core.ErrInvalid)...)
}

// normalize trims and checks a label's fields.
func (l Label) normalize() (Label, error) {
	l.Name = strings.TrimSpace(l.Name)
	l.Color = strings.TrimSpace(l.Color)
	switch {
	case l.Name == "":
		return l, invalid("a label needs a name")
	case len(l.Name) > MaxNameLength:
		return l, invalid("name longer than %d bytes", MaxNameLength)
	case !utf8.ValidString(l.Name) || strings.ContainsFunc(l.Name, unicode.IsControl):
		return l, invalid("name %q has invalid characters", l.Name)
	case len(l.Description) > MaxDescriptionLength:
		return l, invalid("description longer than %d bytes", MaxDescriptionLength)
	case !utf8.ValidString(l.Description):
		return l, invalid("description is not valid UTF-8")
	case !validColor(l.Color):
		return l, invalid(`color %q: want "#RRGGBB" (hexadecimal) or none`, l.Color)
	}
	switch l.Scope {
	case ScopeGlobal:
		if l.ProjectID != 0 {
			return l, invalid("a global label belongs to no project (project_id %d)", l.ProjectID)
		}
	case ScopeProject:
		if l.ProjectID <= 0 {
			return l, invalid("a project label needs its project's id")
		}
	default:
		return l, invalid("scope %q: want %q (global) or %q (project)", l.Scope, ScopeGlobal, ScopeProject)
	}
	return l, nil
}

// validColor accepts "" and "#RRGGBB".
func validColor(c string) bool {
	if c == "" {
		return true
	}
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for _, r := range c[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint") ||
		strings.Contains(err.Error(), "duplicate key"))
}

func nameTaken(l Label) error {
	if l.Scope == ScopeGlobal {
		return fmt.Errorf("label: a global label named %q: %w", l.Name, core.ErrExists)
	}
	return fmt.Errorf("label: a label named %q in project %d: %w", l.Name, l.ProjectID, core.ErrExists)
}

func notFound(id int64) error { return fmt.Errorf("label %d: %w", id, core.ErrNotFound) }

const labelColumns = `id, name, description, color, scope, project_id, created_at, updated_at`

type rowScanner interface{ Scan(...any) error }

func scanLabel(r rowScanner) (Label, error) {
	var l Label
	var created, updated int64
	err := r.Scan(&l.ID, &l.Name, &l.Description, &l.Color, &l.Scope, &l.ProjectID, &created, &updated)
	l.CreatedAt, l.UpdatedAt = fromMS(created), fromMS(updated)
	return l, err
}

// Create stores a new label and returns it with its ID and times. A name
// taken in the label's scope (for a project label, in its project) is
// core.ErrExists; the caller checks the project exists.
func (s *Store) Create(ctx context.Context, l Label) (Label, error) {
	l, err := l.normalize()
	if err != nil {
		return Label{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	l.CreatedAt, l.UpdatedAt = now, now
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// A name taken inserts nothing (no row to scan): no failed
		// statement, which would abort a PostgreSQL transaction.
		return tx.QueryRow(ctx, `INSERT INTO label_labels (name, description, color, scope, project_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
			l.Name, l.Description, l.Color, l.Scope, l.ProjectID, ms(now), ms(now)).Scan(&l.ID)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Label{}, nameTaken(l)
	}
	if err != nil {
		return Label{}, fmt.Errorf("label: create: %w", err)
	}
	return l, nil
}

// Get returns label id, or an error matching core.ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Label, error) {
	l, err := scanLabel(s.db.QueryRow(ctx, `SELECT `+labelColumns+` FROM label_labels WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Label{}, notFound(id)
	}
	if err != nil {
		return Label{}, fmt.Errorf("label: get: %w", err)
	}
	return l, nil
}

// Filter selects labels; zero fields match everything.
type Filter struct {
	Scope     string // ScopeGlobal or ScopeProject
	ProjectID int64  // the project of project labels
	Name      string // the exact name
	// NameContains keeps names containing it (ASCII letters match in
	// either case, as Harbor's fuzzy name match).
	NameContains string
}

// where is f's WHERE clause and its arguments, in dialect's SQL.
func (f Filter) where(dialect sqldb.Dialect) (string, []any) {
	var conds []string
	var args []any
	if f.Scope != "" {
		conds, args = append(conds, "scope = ?"), append(args, f.Scope)
	}
	if f.ProjectID != 0 {
		conds, args = append(conds, "project_id = ?"), append(args, f.ProjectID)
	}
	if f.Name != "" {
		conds, args = append(conds, "name = ?"), append(args, f.Name)
	}
	if f.NameContains != "" {
		// SQLite's LIKE ignores the case of ASCII letters, and only
		// theirs; PostgreSQL's LIKE ignores none, and its lower() and
		// ILIKE fold every letter: there the name's ASCII letters are
		// folded as the pattern's are.
		name := "name"
		if dialect == sqldb.Postgres {
			name = "translate(name, '" + asciiUpper + "', '" + asciiLower + "')"
		}
		conds = append(conds, name+` LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(foldASCII(f.NameContains))+"%")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

const (
	asciiUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	asciiLower = "abcdefghijklmnopqrstuvwxyz"
)

// foldASCII turns s's ASCII capitals to lower case, leaving every other
// character as it is.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if i := strings.IndexRune(asciiUpper, r); i >= 0 {
			return rune(asciiLower[i])
		}
		return r
	}, s)
}

// escapeLike makes s match itself literally in a LIKE pattern with
// ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// List returns a page of the labels f selects, by id (default 20, at
// most 1000 a page), and how many it selects in all.
func (s *Store) List(ctx context.Context, f Filter, page core.Page) ([]Label, int, error) {
	page = page.Bounded(DefaultPageSize, MaxPageSize)
	where, args := f.where(s.db.Dialect())
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM label_labels`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("label: list: %w", err)
	}
	out := []Label{}
	if total <= page.Offset {
		return out, total, nil
	}
	rows, err := s.db.Query(ctx, `SELECT `+labelColumns+` FROM label_labels`+where+` ORDER BY id LIMIT ? OFFSET ?`,
		append(args, page.Limit, page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("label: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLabel(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("label: list: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("label: list: %w", err)
	}
	return out, total, nil
}

// Update changes label id in one transaction: fn is given the stored
// label and changes its name, description or color; the result is
// checked as Create checks it and stored. ID, Scope, ProjectID and
// CreatedAt do not change. It returns the stored label.
func (s *Store) Update(ctx context.Context, id int64, fn func(l *Label) error) (Label, error) {
	var out Label
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// Locked until the commit: on PostgreSQL another Update would
		// otherwise read the same row and overwrite this one's change.
		cur, err := scanLabel(tx.QueryRow(ctx, `SELECT `+labelColumns+` FROM label_labels WHERE id = ?`+tx.ForUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		l := cur
		if err := fn(&l); err != nil {
			return err
		}
		l.ID, l.Scope, l.ProjectID, l.CreatedAt = cur.ID, cur.Scope, cur.ProjectID, cur.CreatedAt
		if l, err = l.normalize(); err != nil {
			return err
		}
		l.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
		if _, err := tx.Exec(ctx, `UPDATE label_labels SET name = ?, description = ?, color = ?, updated_at = ?
			WHERE id = ?`, l.Name, l.Description, l.Color, ms(l.UpdatedAt), l.ID); err != nil {
			if isUnique(err) {
				return nameTaken(l)
			}
			return err
		}
		out = l
		return nil
	})
	if err != nil {
		if isKind(err) {
			return Label{}, err
		}
		return Label{}, fmt.Errorf("label: update: %w", err)
	}
	return out, nil
}

// changedRow passes on the error of a statement that res is the result
// of, and returns none() when it changed no row.
func changedRow(res sql.Result, err error, none func() error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = none()
	}
	return err
}

// isKind reports whether err is one of the kinds this package answers
// with, whose text is already written for people.
func isKind(err error) bool {
	return errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrExists) || errors.Is(err, core.ErrInvalid)
}

// Delete removes label id and detaches it from every artifact, in one
// transaction.
func (s *Store) Delete(ctx context.Context, id int64) error {
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM label_labels WHERE id = ?`, id)
		if err := changedRow(res, err, func() error { return notFound(id) }); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM label_artifacts WHERE label_id = ?`, id)
		return err
	})
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return fmt.Errorf("label: delete: %w", err)
	}
	return err
}

// ForgetProject removes, inside tx (the transaction deleting the
// project), the project's labels and every attachment in the project
// (of its own labels and of global ones).
func (s *Store) ForgetProject(ctx context.Context, tx *sqldb.Tx, projectID int64) error {
	if projectID <= 0 {
		return invalid("ForgetProject needs a project id")
	}
	// On PostgreSQL, lock the project's labels first: an Attach of one of
	// them holds it (FOR SHARE) until it commits, and the deletions below
	// must see its attachment, or it would outlive its label.
	if lock := tx.ForUpdate(); lock != "" {
		if _, err := tx.Exec(ctx, `SELECT id FROM label_labels WHERE scope = 'p' AND project_id = ?`+lock, projectID); err != nil {
			return fmt.Errorf("label: forget project %d: %w", projectID, err)
		}
	}
	for _, q := range []string{
		`DELETE FROM label_artifacts WHERE project_id = ?`,
		// Attachments of the project's labels elsewhere cannot exist
		// (Attach refuses them); this keeps the rule true regardless.
		`DELETE FROM label_artifacts WHERE label_id IN (SELECT id FROM label_labels WHERE scope = 'p' AND project_id = ?)`,
		`DELETE FROM label_labels WHERE scope = 'p' AND project_id = ?`,
	} {
		if _, err := tx.Exec(ctx, q, projectID); err != nil {
			return fmt.Errorf("label: forget project %d: %w", projectID, err)
		}
	}
	return nil
}
