package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/berthlabs/berth/sqldb"
)

// maxPasswordBytes bounds what Authenticate hashes, whatever the policy.
const maxPasswordBytes = 4096

// Authenticate checks a local user's password. Unknown users and wrong
// passwords both return ErrInvalidCredentials, and both cost one password
// hash, so neither the error nor the time taken tells whether the name
// exists. External (LDAP) users have no local password: for them the error
// wraps both ErrInvalidCredentials and ErrExternalUser, so a caller can
// route them to their source; never show the difference to the client.
//
// A hash made with older parameters, or imported from bcrypt, is replaced
// with a current one after a successful login.
func (s *Users) Authenticate(ctx context.Context, name, password string) (*User, error) {
	u, hash, err := s.verify(ctx, name, password)
	if err != nil {
		return nil, err
	}
	if NeedsRehash(hash, s.cfg.hash) {
		s.rehash(ctx, u.Name, hash, password)
	}
	return u, nil
}

// verify returns the user and its stored hash when password is right.
func (s *Users) verify(ctx context.Context, name, password string) (*User, string, error) {
	name = CanonicalUserName(name)
	if ValidateUserName(name) != nil || len(password) > maxPasswordBytes {
		return nil, "", s.dummyHash(ctx, password, ErrInvalidCredentials)
	}
	var hash string
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM auth_users WHERE name = ?`, name),
		&hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, "", s.dummyHash(ctx, password, ErrInvalidCredentials)
	case err != nil:
		return nil, "", err
	case hash == "":
		return nil, "", s.dummyHash(ctx, password, fmt.Errorf("%w: %w", ErrInvalidCredentials, ErrExternalUser))
	}
	ok, err := s.hasher.verify(ctx, hash, password)
	switch {
	case errors.Is(err, ErrMalformedHash):
		return nil, "", s.dummyHash(ctx, password, fmt.Errorf("%w: user %q: %w", ErrInvalidCredentials, name, err))
	case err != nil:
		return nil, "", err
	}
	if !ok {
		return nil, "", ErrInvalidCredentials
	}
	return u, hash, nil
}

// dummyHash spends what verifying a current hash costs, so failing on an
// unknown user takes as long as failing on a wrong password, then returns
// failed, or why the hash could not run (the caller gave up waiting).
func (s *Users) dummyHash(ctx context.Context, password string, failed error) error {
	if err := s.hasher.dummy(ctx, password); err != nil {
		return err
	}
	return failed
}

// rehash replaces old with a hash made with the current parameters, unless
// the password changed meanwhile. Best effort: the login has succeeded.
func (s *Users) rehash(ctx context.Context, name, old, password string) {
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return
	}
	_ = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE auth_users SET password_hash = ? WHERE name = ? AND password_hash = ?`, hash, name, old)
		return err
	})
}

// ChangePassword sets a user's own password after checking the old one
// (ErrInvalidCredentials when wrong). The new password must meet the policy
// and differ from the old one.
func (s *Users) ChangePassword(ctx context.Context, name, oldPassword, newPassword string) error {
	if err := s.cfg.policy.Check(newPassword); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return fmt.Errorf("%w: the new password must differ from the old one", ErrPasswordPolicy)
	}
	u, oldHash, err := s.verify(ctx, name, oldPassword)
	if err != nil {
		return err
	}
	return s.storePassword(ctx, u.Name, newPassword, oldHash, "")
}

// SetPassword sets a local user's password without the old one: an
// administrator's reset. The password must meet the policy.
func (s *Users) SetPassword(ctx context.Context, name, password string) error {
	if err := s.cfg.policy.Check(password); err != nil {
		return err
	}
	return s.storePassword(ctx, CanonicalUserName(name), password, "", "reset")
}

// storePassword hashes password and stores it. With ifHash set, it only
// replaces that hash, so two concurrent changes cannot both succeed.
func (s *Users) storePassword(ctx context.Context, name, password, ifHash, detail string) error {
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	now := s.cfg.now().UTC()
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		var source, cur string
		// Locked: of two changes from the same old password, the second
		// reads the first's hash once it commits, and fails.
		err := tx.QueryRow(ctx, `SELECT source, password_hash FROM auth_users WHERE name = ?`+tx.ForUpdate(), name).Scan(&source, &cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: user %q", ErrNotFound, name)
		case err != nil:
			return err
		case source != SourceLocal:
			return fmt.Errorf("%w: user %q comes from %s; change the password there", ErrExternalUser, name, source)
		case ifHash != "" && cur != ifHash:
			return fmt.Errorf("%w: the password was changed meanwhile", ErrInvalidCredentials)
		}
		_, err = tx.Exec(ctx, `UPDATE auth_users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE name = ?`,
			hash, nanos(now), nanos(now), name)
		return err
	})
	if err != nil {
		return dbErr("set password", err)
	}
	s.cfg.emit(ctx, ChangePassword, name, detail, now)
	return nil
}
