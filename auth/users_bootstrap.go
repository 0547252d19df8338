package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/berthlabs/berth/sqldb"
)

// DefaultAdminName is the initial admin's name when Bootstrap is given none.
const DefaultAdminName = "admin"

// ErrNoBootstrapPassword is returned by Bootstrap when no system admin
// exists and no password was supplied for the first one.
var ErrNoBootstrapPassword = errors.New("auth: no system admin exists and no initial admin password was given: " +
	"set one in the server configuration or environment (there is no built-in default password); " +
	"it is needed only until the first admin exists")

// Bootstrap creates the initial system admin, a local user, when no system
// admin exists; created reports whether it did. The caller supplies the
// password from its configuration or environment: there is no default.
// An empty password is an error (ErrNoBootstrapPassword) only while no
// admin exists, so the secret can be removed from the environment after
// the first start. If name is taken by a user who is not an admin,
// Bootstrap fails with ErrExists rather than promote that account.
func (s *Users) Bootstrap(ctx context.Context, name, password string) (created bool, err error) {
	if name == "" {
		name = DefaultAdminName
	}
	u := User{Name: CanonicalUserName(name), Source: SourceLocal, SystemAdmin: true}
	if err := validateUser(u); err != nil {
		return false, err
	}
	if n, err := countAdmins(ctx, s.db.QueryRow); err != nil || n > 0 {
		return false, err
	}
	if password == "" {
		return false, ErrNoBootstrapPassword
	}
	if err := s.cfg.policy.Check(password); err != nil {
		return false, fmt.Errorf("initial admin password: %w", err)
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return false, err
	}
	now := s.cfg.now().UTC()
	u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt = now, now, now
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		created = false
		n, err := countAdmins(ctx, tx.QueryRow)
		if err != nil || n > 0 {
			return err // another process bootstrapped meanwhile
		}
		err = insertUser(ctx, tx, &u, hash)
		if errors.Is(err, ErrExists) {
			// On PostgreSQL another process (a node starting at the same
			// moment) may have bootstrapped the same admin since the
			// count: the insert waited for its commit, which a new
			// statement sees.
			if n, cerr := countAdmins(ctx, tx.QueryRow); cerr == nil && n > 0 {
				return nil
			}
		}
		created = err == nil
		return err
	})
	if err != nil {
		return false, dbErr("bootstrap", err)
	}
	if created {
		s.cfg.emit(ctx, ChangeUserCreate, u.Name, createDetail(u), now)
	}
	return created, nil
}

func countAdmins(ctx context.Context, queryRow func(context.Context, string, ...any) *sql.Row) (int, error) {
	var n int
	err := queryRow(ctx, `SELECT COUNT(*) FROM auth_users WHERE system_admin = ?`, true).Scan(&n)
	return n, err
}

// Onboard records an externally authenticated user (source "ldap", ...) at
// login: it creates the account on first login and refreshes its email and
// display name afterwards. It never touches a local account of the same
// name (ErrExists): a directory entry cannot take over a local admin.
// Directory attributes that fail validation are stored empty rather than
// failing the login.
func (s *Users) Onboard(ctx context.Context, name, email, displayName, source string) (*User, error) {
	u := User{Name: CanonicalUserName(name), Email: email, DisplayName: displayName, Source: source}
	if validateEmail(u.Email) != nil {
		u.Email = ""
	}
	if validateDisplayName(u.DisplayName) != nil {
		u.DisplayName = ""
	}
	if err := validateUser(u); err != nil {
		return nil, err
	}
	if source == SourceLocal {
		return nil, fmt.Errorf("%w: Onboard is for external users; create local users with Create", ErrInvalid)
	}
	now := s.cfg.now().UTC()
	u.CreatedAt, u.UpdatedAt = now, now
	var out *User
	created := false
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		out, created = nil, false
		cur, err := s.lockUser(ctx, tx, u.Name)
		if errors.Is(err, sql.ErrNoRows) {
			err = insertUser(ctx, tx, &u, "")
			if err == nil {
				out, created = &u, true
				return nil
			}
			if !errors.Is(err, ErrExists) {
				return err
			}
			// On PostgreSQL a concurrent first login of the same user
			// inserted it since the read; the insert waited for its
			// commit, which a new statement sees: refresh that row.
			cur, err = s.lockUser(ctx, tx, u.Name)
		}
		switch {
		case err != nil:
			return err
		case cur.Source != source:
			return fmt.Errorf("%w: a %s user named %q exists; refusing to onboard a %s user over it", ErrExists, cur.Source, u.Name, source)
		case cur.Email == u.Email && cur.DisplayName == u.DisplayName:
			out = cur
			return nil
		}
		cur.Email, cur.DisplayName, cur.UpdatedAt = u.Email, u.DisplayName, now
		out = cur
		_, err = tx.Exec(ctx, `UPDATE auth_users SET email = ?, display_name = ?, updated_at = ? WHERE name = ?`,
			cur.Email, cur.DisplayName, nanos(now), cur.Name)
		return err
	})
	if err != nil {
		return nil, dbErr("onboard", err)
	}
	if created {
		s.cfg.emit(ctx, ChangeUserCreate, u.Name, createDetail(u), now)
	}
	return out, nil
}

// lockUser reads the user named name inside tx, locking its row on
// PostgreSQL until tx ends; sql.ErrNoRows when there is none.
func (s *Users) lockUser(ctx context.Context, tx *sqldb.Tx, name string) (*User, error) {
	return scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM auth_users WHERE name = ?`+tx.ForUpdate(), name))
}
