package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/berthlabs/berth/sqldb"
)

// MaxCommentLen bounds a user's comment, in characters.
const MaxCommentLen = 1024

// ChangeUserProfile reports a change of a user's email, display name or
// comment.
const ChangeUserProfile ChangeKind = "user-profile-change"

// GetByID returns the user whose ID is id, or ErrNotFound.
func (s *Users) GetByID(ctx context.Context, id int64) (*User, error) {
	if id <= 0 {
		return nil, fmt.Errorf("%w: user with id %d", ErrNotFound, id)
	}
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM auth_users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: user with id %d", ErrNotFound, id)
	}
	return u, err
}

// Profile is what a user may change about itself besides its password
// (Harbor's UserProfile).
type Profile struct {
	Email       string
	DisplayName string
	Comment     string
}

// UpdateProfile replaces the email, display name and comment of the user
// named name and returns the user as stored. Users of an external source
// (LDAP) get ErrExternalUser: their directory owns those attributes and
// would overwrite them at the next login. Invalid fields get ErrInvalid.
func (s *Users) UpdateProfile(ctx context.Context, name string, p Profile) (*User, error) {
	name = CanonicalUserName(name)
	if err := validateEmail(p.Email); err != nil {
		return nil, err
	}
	if err := validateDisplayName(p.DisplayName); err != nil {
		return nil, err
	}
	if err := validateComment(p.Comment); err != nil {
		return nil, err
	}
	now := s.cfg.now().UTC()
	var out *User
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		cur, err := s.lockUser(ctx, tx, name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: user %q", ErrNotFound, name)
		case err != nil:
			return err
		case cur.Source != SourceLocal:
			return fmt.Errorf("%w: %s user %q: change the profile in the directory", ErrExternalUser, cur.Source, name)
		}
		cur.Email, cur.DisplayName, cur.Comment, cur.UpdatedAt = p.Email, p.DisplayName, p.Comment, now
		out = cur
		_, err = tx.Exec(ctx, `UPDATE auth_users SET email = ?, display_name = ?, comment = ?, updated_at = ? WHERE name = ?`,
			cur.Email, cur.DisplayName, cur.Comment, nanos(now), name)
		return err
	})
	if err != nil {
		return nil, dbErr("update profile", err)
	}
	s.cfg.emit(ctx, ChangeUserProfile, name, "", now)
	return out, nil
}

// validateComment accepts valid UTF-8 of at most MaxCommentLen characters,
// with no control characters but newlines and tabs.
func validateComment(s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxCommentLen {
		return fmt.Errorf("%w: comment must be valid UTF-8, at most %d characters", ErrInvalid, MaxCommentLen)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0 {
		return fmt.Errorf("%w: comment contains a control character", ErrInvalid)
	}
	return nil
}
