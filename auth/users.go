package auth

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations/sqlite/*_users.sql migrations/postgres/*_users.sql
var usersMigrations embed.FS

// Errors the stores return; match them with errors.Is. The first ones are
// core's kinds (or cases of them), so an HTTP layer answers them without
// knowing this package.
var (
	ErrNotFound     = core.ErrNotFound
	ErrExists       = core.ErrExists
	ErrInvalid      = core.ErrInvalid
	ErrExternalUser = core.New(core.ErrPrecondition, "user is managed by an external identity source")
	ErrLastAdmin    = core.New(core.ErrPrecondition, "refusing to remove the last system admin")
	// Credentials that fail: answered 401 without saying which.
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrExpired            = errors.New("account expired")
	ErrDisabled           = errors.New("account disabled")
)

// Sources of user accounts.
const (
	SourceLocal = "local" // password stored here
	SourceLDAP  = "ldap"  // authenticated by LDAP, onboarded on first login
)

// User is an account. Names are canonical: lower case (see
// CanonicalUserName).
type User struct {
	// ID is the user's number (Harbor's user_id): assigned on creation,
	// never reused after a delete.
	ID                int64
	Name              string
	Email             string
	DisplayName       string
	Comment           string // free text of Harbor's user profile
	SystemAdmin       bool
	Source            string // SourceLocal, SourceLDAP, ...
	CreatedAt         time.Time
	UpdatedAt         time.Time
	PasswordChangedAt time.Time // zero for external users
}

// Users stores user accounts and their password hashes in SQL. It is safe
// for concurrent use.
type Users struct {
	db     *sqldb.DB
	cfg    storeConfig
	hasher *hasher
}

// NewUsers returns a user store over db, applying its migrations.
func NewUsers(ctx context.Context, db *sqldb.DB, opts ...StoreOption) (*Users, error) {
	cfg := newStoreConfig(opts)
	if err := cfg.hash.Validate(); err != nil {
		return nil, err
	}
	if err := migrate(ctx, db, "auth.users", usersMigrations); err != nil {
		return nil, err
	}
	return &Users{db: db, cfg: cfg, hasher: newHasher(cfg)}, nil
}

func migrate(ctx context.Context, db *sqldb.DB, component string, fsys embed.FS) error {
	if db == nil {
		return fmt.Errorf("auth: %s: a database is required", component)
	}
	if err := db.MigrateDialect(ctx, component, fsys); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

const userColumns = `name, email, display_name, system_admin, source, created_at, updated_at, password_changed_at, id, comment`

// Create adds a local user with a password that must meet the policy.
// u.Source must be empty or SourceLocal; external users come in through
// Onboard. It returns ErrExists when the name is taken.
func (s *Users) Create(ctx context.Context, u User, password string) (*User, error) {
	u.Name = CanonicalUserName(u.Name)
	if u.Source == "" {
		u.Source = SourceLocal
	}
	if u.Source != SourceLocal {
		return nil, fmt.Errorf("%w: Create makes local users; onboard %s users with Onboard", ErrInvalid, u.Source)
	}
	if err := validateUser(u); err != nil {
		return nil, err
	}
	if err := s.cfg.policy.Check(password); err != nil {
		return nil, err
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	now := s.cfg.now().UTC()
	u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt = now, now, now
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error { return insertUser(ctx, tx, &u, hash) })
	if err != nil {
		return nil, err
	}
	s.cfg.emit(ctx, ChangeUserCreate, u.Name, createDetail(u), now)
	return &u, nil
}

func createDetail(u User) string {
	d := "source=" + u.Source
	if u.SystemAdmin {
		d += ",system_admin=true"
	}
	return d
}

// insertUser adds u with the next id from auth_user_seq, which it sets in
// u. An id drawn by an insert that fails is skipped, never reused.
func insertUser(ctx context.Context, tx *sqldb.Tx, u *User, hash string) error {
	if err := tx.QueryRow(ctx, `UPDATE auth_user_seq SET last_id = last_id + 1 RETURNING last_id`).Scan(&u.ID); err != nil {
		return fmt.Errorf("auth: create user %q: next id: %w", u.Name, err)
	}
	res, err := tx.Exec(ctx, `INSERT INTO auth_users (`+userColumns+`, password_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		u.Name, u.Email, u.DisplayName, u.SystemAdmin, u.Source,
		nanos(u.CreatedAt), nanos(u.UpdatedAt), nanos(u.PasswordChangedAt), u.ID, u.Comment, hash)
	if err != nil {
		return fmt.Errorf("auth: create user %q: %w", u.Name, err)
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: user %q", ErrExists, u.Name)
	}
	return err
}

// Get returns the user named name, or ErrNotFound.
func (s *Users) Get(ctx context.Context, name string) (*User, error) {
	name = CanonicalUserName(name)
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM auth_users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	return u, err
}

// SetSystemAdmin grants or revokes the system admin role. Revoking it from
// the last system admin fails with ErrLastAdmin.
func (s *Users) SetSystemAdmin(ctx context.Context, name string, admin bool) error {
	name = CanonicalUserName(name)
	now := s.cfg.now().UTC()
	changed := false
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		changed = false
		var others int
		if !admin {
			var err error
			if others, err = lockOtherAdmins(ctx, tx, name); err != nil {
				return err
			}
		}
		var was bool
		err := tx.QueryRow(ctx, `SELECT system_admin FROM auth_users WHERE name = ?`+tx.ForUpdate(), name).Scan(&was)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: user %q", ErrNotFound, name)
		}
		if err != nil || was == admin {
			return err
		}
		if !admin && others == 0 {
			return ErrLastAdmin
		}
		changed = true
		_, err = tx.Exec(ctx, `UPDATE auth_users SET system_admin = ?, updated_at = ? WHERE name = ?`, admin, nanos(now), name)
		return err
	})
	if err != nil {
		return dbErr("set system admin", err)
	}
	if changed {
		s.cfg.emit(ctx, ChangeUserAdmin, name, fmt.Sprintf("system_admin=%t", admin), now)
	}
	return nil
}

// lockOtherAdmins counts the system admins other than name, and on
// PostgreSQL locks every admin's row until tx ends, before a transaction
// that may remove name's admin role reads name's row. Without the locks
// two transactions revoking two admins at once would each count the other
// and leave none. They are taken in name order, in one statement, so that
// concurrent revocations queue instead of deadlocking; a revocation that
// waited sees the admins that remain once the other commits.
func lockOtherAdmins(ctx context.Context, tx *sqldb.Tx, name string) (int, error) {
	rows, err := tx.Query(ctx, `SELECT name FROM auth_users WHERE system_admin = ? ORDER BY name`+tx.ForUpdate(), true)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var admin string
		if err := rows.Scan(&admin); err != nil {
			return 0, err
		}
		if admin != name {
			n++
		}
	}
	return n, rows.Err()
}

// Delete removes a user. Deleting the last system admin fails with
// ErrLastAdmin.
func (s *Users) Delete(ctx context.Context, name string) error {
	name = CanonicalUserName(name)
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		others, err := lockOtherAdmins(ctx, tx, name)
		if err != nil {
			return err
		}
		var admin bool
		err = tx.QueryRow(ctx, `SELECT system_admin FROM auth_users WHERE name = ?`+tx.ForUpdate(), name).Scan(&admin)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: user %q", ErrNotFound, name)
		}
		if err != nil {
			return err
		}
		if admin && others == 0 {
			return ErrLastAdmin
		}
		_, err = tx.Exec(ctx, `DELETE FROM auth_users WHERE name = ?`, name)
		return err
	})
	if err != nil {
		return dbErr("delete user", err)
	}
	s.cfg.emit(ctx, ChangeUserDelete, name, "", s.cfg.now().UTC())
	return nil
}

// dbErr adds context to database errors and passes the package's own
// errors through unchanged.
func dbErr(op string, err error) error {
	for _, e := range []error{ErrNotFound, ErrExists, ErrInvalid, ErrInvalidCredentials,
		ErrExternalUser, ErrLastAdmin, ErrExpired, ErrDisabled, ErrPasswordPolicy} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("auth: %s: %w", op, err)
}

type rowScanner interface{ Scan(dest ...any) error }

// scanUser reads userColumns, then any extra columns into extra.
func scanUser(r rowScanner, extra ...any) (*User, error) {
	var u User
	var created, updated, pwChanged int64
	dest := append([]any{&u.Name, &u.Email, &u.DisplayName, &u.SystemAdmin, &u.Source, &created, &updated, &pwChanged,
		&u.ID, &u.Comment}, extra...)
	if err := r.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: read user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt = fromNanos(created), fromNanos(updated), fromNanos(pwChanged)
	return &u, nil
}

// nanos stores a time as Unix nanoseconds; the zero time is 0.
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
