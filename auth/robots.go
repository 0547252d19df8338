package auth

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations/sqlite/*_robots.sql migrations/postgres/*_robots.sql
var robotsMigrations embed.FS

// Robot is a machine account with an explicit permission list.
type Robot struct {
	// ID is the robot's number (Harbor's robot id): assigned on creation,
	// never reused after a delete.
	ID      int64
	Name    string // full name: robot$<name> or robot$<project>+<name>
	Level   RobotLevel
	Project string // the project of a project robot; "" for system robots
	// ProjectID is the immutable id of Project (see WithProjects).
	ProjectID   int64
	Description string
	Permissions []RobotPermission
	Disabled    bool
	ExpiresAt   time.Time // zero: never
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CreatedBy   string
}

// Expired reports whether r has expired at now.
func (r *Robot) Expired(now time.Time) bool {
	return !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt)
}

// Robots stores robot accounts and the hashes of their secrets in SQL. It
// is safe for concurrent use.
type Robots struct {
	db  *sqldb.DB
	cfg storeConfig
}

// NewRobots returns a robot store over db, applying its migrations.
func NewRobots(ctx context.Context, db *sqldb.DB, opts ...StoreOption) (*Robots, error) {
	if err := migrate(ctx, db, "auth.robots", robotsMigrations); err != nil {
		return nil, err
	}
	return &Robots{db: db, cfg: newStoreConfig(opts)}, nil
}

const robotColumns = `name, level, project, project_id, description, permissions, disabled, expires_at, created_at, updated_at, created_by, id`

// Create adds a robot and returns it with its secret, which is shown only
// this once: only a hash is stored. r.Name is the short name ("ci") or the
// full one; r.Level defaults from r.Project (empty: system). CreatedBy
// defaults to registry.ActorFrom(ctx). ErrExists when the name is taken.
func (s *Robots) Create(ctx context.Context, r Robot) (*Robot, string, error) {
	now := s.cfg.now().UTC()
	if err := s.prepare(ctx, &r, now); err != nil {
		return nil, "", err
	}
	perms, err := json.Marshal(r.Permissions)
	if err != nil {
		return nil, "", fmt.Errorf("auth: robot permissions: %w", err)
	}
	secret, stored, err := newRobotSecret()
	if err != nil {
		return nil, "", err
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// An id drawn by an insert that fails is skipped, never reused.
		if err := tx.QueryRow(ctx, `UPDATE auth_robot_seq SET last_id = last_id + 1 RETURNING last_id`).Scan(&r.ID); err != nil {
			return fmt.Errorf("next robot id: %w", err)
		}
		res, err := tx.Exec(ctx, `INSERT INTO auth_robots (`+robotColumns+`, secret_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			r.Name, string(r.Level), r.Project, r.ProjectID, r.Description, string(perms), r.Disabled,
			nanos(r.ExpiresAt), nanos(now), nanos(now), r.CreatedBy, r.ID, stored)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: robot %q", ErrExists, r.Name)
		}
		return err
	})
	if err != nil {
		return nil, "", dbErr("create robot", err)
	}
	s.cfg.emit(ctx, ChangeRobotCreate, r.Name, "level="+string(r.Level), now)
	return &r, secret, nil
}

// prepare fills in and validates a robot to create.
func (s *Robots) prepare(ctx context.Context, r *Robot, now time.Time) error {
	if IsRobotName(r.Name) {
		project, name, err := ParseRobotName(r.Name)
		if err != nil {
			return err
		}
		if r.Project != "" && r.Project != project {
			return fmt.Errorf("%w: robot name %q is not in project %q", ErrInvalid, r.Name, r.Project)
		}
		r.Project, r.Name = project, name
	} else if err := validateSlug("robot name", r.Name); err != nil {
		return err
	}
	if r.Level == "" {
		r.Level = RobotSystem
		if r.Project != "" {
			r.Level = RobotProject
		}
	}
	switch {
	case r.Level == RobotSystem && r.Project != "":
		return fmt.Errorf("%w: a system robot belongs to no project", ErrInvalid)
	case r.Level == RobotProject && r.Project == "":
		return fmt.Errorf("%w: a project robot needs a project", ErrInvalid)
	case r.Level != RobotSystem && r.Level != RobotProject:
		return fmt.Errorf("%w: robot level %q: want %q or %q", ErrInvalid, r.Level, RobotSystem, RobotProject)
	case !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(now):
		return fmt.Errorf("%w: robot expiry %s is not in the future", ErrInvalid, r.ExpiresAt.Format(time.RFC3339))
	}
	if err := validateExpiry(r.ExpiresAt); err != nil {
		return err
	}
	r.Name = RobotName(r.Project, r.Name)
	if _, _, err := ParseRobotName(r.Name); err != nil {
		return err
	}
	if err := validateDescription(r.Description); err != nil {
		return err
	}
	perms, err := normalizePermissions(r.Level, r.Project, r.Permissions)
	if err != nil {
		return err
	}
	r.Permissions = perms
	if err := s.resolveProjects(ctx, r); err != nil {
		return err
	}
	r.ExpiresAt = r.ExpiresAt.UTC()
	r.CreatedAt, r.UpdatedAt = now, now
	if r.CreatedBy == "" {
		r.CreatedBy = registry.ActorFrom(ctx)
	}
	return nil
}

// validateExpiry refuses times that Unix nanoseconds cannot hold; the
// zero time, not a far future date, means never.
func validateExpiry(t time.Time) error {
	if !t.IsZero() && (t.Year() < 1970 || t.Year() > 2200) {
		return fmt.Errorf("%w: robot expiry %s out of range; use the zero time for never", ErrInvalid, t.Format(time.RFC3339))
	}
	return nil
}

func validateDescription(s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxRobotDescriptionLen {
		return fmt.Errorf("%w: description must be valid UTF-8, at most %d characters", ErrInvalid, MaxRobotDescriptionLen)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0 {
		return fmt.Errorf("%w: description contains a control character", ErrInvalid)
	}
	return nil
}

// Get returns the robot with full name name, or ErrNotFound.
func (s *Robots) Get(ctx context.Context, name string) (*Robot, error) {
	r, err := scanRobot(s.db.QueryRow(ctx, `SELECT `+robotColumns+` FROM auth_robots WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: robot %q", ErrNotFound, name)
	}
	return r, err
}

// GetByID returns the robot whose ID is id, or ErrNotFound.
func (s *Robots) GetByID(ctx context.Context, id int64) (*Robot, error) {
	if id <= 0 {
		return nil, fmt.Errorf("%w: robot with id %d", ErrNotFound, id)
	}
	r, err := scanRobot(s.db.QueryRow(ctx, `SELECT `+robotColumns+` FROM auth_robots WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: robot with id %d", ErrNotFound, id)
	}
	return r, err
}

// Delete removes a robot; its secret stops working at once.
func (s *Robots) Delete(ctx context.Context, name string) error {
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM auth_robots WHERE name = ?`, name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: robot %q", ErrNotFound, name)
		}
		return err
	})
	if err != nil {
		return dbErr("delete robot", err)
	}
	s.cfg.emit(ctx, ChangeRobotDelete, name, "", s.cfg.now().UTC())
	return nil
}

// scanRobot reads robotColumns, then any extra columns into extra.
func scanRobot(r rowScanner, extra ...any) (*Robot, error) {
	var rb Robot
	var level, perms string
	var expires, created, updated int64
	dest := append([]any{&rb.Name, &level, &rb.Project, &rb.ProjectID, &rb.Description, &perms, &rb.Disabled,
		&expires, &created, &updated, &rb.CreatedBy, &rb.ID}, extra...)
	if err := r.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: read robot: %w", err)
	}
	if err := json.Unmarshal([]byte(perms), &rb.Permissions); err != nil {
		return nil, fmt.Errorf("auth: robot %q permissions: %w", rb.Name, err)
	}
	rb.Level = RobotLevel(level)
	rb.ExpiresAt, rb.CreatedAt, rb.UpdatedAt = fromNanos(expires), fromNanos(created), fromNanos(updated)
	return &rb, nil
}
