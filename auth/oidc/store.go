package oidc

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations/sqlite/*_oidc.sql migrations/postgres/*_oidc.sql
var migrations embed.FS

// Labels the sealed columns are bound to.
const (
	labelSecret  = "oidc_users.secret"
	labelRefresh = "oidc_users.refresh_token"
)

// Link is an OIDC user as this package keeps it: the berth user, its
// identity at the provider, and what the provider last said about it.
type Link struct {
	Username  string
	Issuer    string
	Subject   string
	Groups    []string // after the group filter
	Admin     bool     // in the admin group at the last login or refresh
	Refused   bool     // the provider refused the stored refresh token
	CheckedAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// link is a row with its sealed values opened.
type link struct {
	Link
	secret, refresh string
}

// Links stores OIDC users in SQL (table oidc_users), their CLI secrets
// and refresh tokens sealed. Safe for concurrent use.
type Links struct {
	db   *sqldb.DB
	seal *seal.Sealer
	now  func() time.Time
}

// NewLinks returns the store over db, applying its migrations. sealer
// seals CLI secrets and refresh tokens (seal.New(serverKey)).
func NewLinks(ctx context.Context, db *sqldb.DB, sealer *seal.Sealer, now func() time.Time) (*Links, error) {
	if db == nil || sealer == nil {
		return nil, errors.New("oidc: a database and a sealer are required")
	}
	if now == nil {
		now = time.Now
	}
	if err := db.MigrateDialect(ctx, "auth.oidc", migrations); err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return &Links{db: db, seal: sealer, now: now}, nil
}

const linkColumns = `username, issuer, subject, secret, refresh_token, groups_json, admin, refused, checked_at, created_at, updated_at`

func (s *Links) scan(row interface{ Scan(...any) error }) (*link, error) {
	var l link
	var secret, refresh, groups string
	var checked, created, updated int64
	err := row.Scan(&l.Username, &l.Issuer, &l.Subject, &secret, &refresh, &groups, &l.Admin, &l.Refused,
		&checked, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: OIDC user", auth.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(groups), &l.Groups); err != nil {
		return nil, fmt.Errorf("oidc: groups of %q: %w", l.Username, err)
	}
	if l.secret, err = s.seal.Open(secret, labelSecret); err != nil {
		return nil, fmt.Errorf("oidc: CLI secret of %q: %w", l.Username, err)
	}
	if l.refresh, err = s.seal.Open(refresh, labelRefresh); err != nil {
		return nil, fmt.Errorf("oidc: refresh token of %q: %w", l.Username, err)
	}
	l.CheckedAt, l.CreatedAt, l.UpdatedAt = time.Unix(0, checked).UTC(), time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return &l, nil
}

func (s *Links) byUser(ctx context.Context, username string) (*link, error) {
	return s.scan(s.db.QueryRow(ctx, `SELECT `+linkColumns+` FROM oidc_users WHERE username = ?`,
		auth.CanonicalUserName(username)))
}

func (s *Links) bySubject(ctx context.Context, issuer, subject string) (*link, error) {
	return s.scan(s.db.QueryRow(ctx, `SELECT `+linkColumns+` FROM oidc_users WHERE issuer = ? AND subject = ?`,
		issuer, subject))
}

// Get returns the OIDC user named username, or auth.ErrNotFound.
func (s *Links) Get(ctx context.Context, username string) (*Link, error) {
	l, err := s.byUser(ctx, username)
	if err != nil {
		return nil, err
	}
	return &l.Link, nil
}

// create links a new OIDC user with a fresh CLI secret; auth.ErrExists
// when the name or the identity is linked already.
func (s *Links) create(ctx context.Context, l Link, refresh, secret string) error {
	sealedSecret, err := s.seal.Seal(secret, labelSecret)
	if err != nil {
		return err
	}
	sealedRefresh, err := s.seal.Seal(refresh, labelRefresh)
	if err != nil {
		return err
	}
	groups, err := json.Marshal(nonNil(l.Groups))
	if err != nil {
		return err
	}
	now := s.now().UnixNano()
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO oidc_users (`+linkColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, FALSE, ?, ?, ?)
			ON CONFLICT DO NOTHING`, auth.CanonicalUserName(l.Username), l.Issuer, l.Subject, sealedSecret, sealedRefresh,
			string(groups), l.Admin, now, now, now)
		if err != nil {
			return fmt.Errorf("oidc: link %q: %w", l.Username, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("%w: OIDC user %q or identity %s at %s", auth.ErrExists, l.Username, l.Subject, l.Issuer)
		}
		return nil
	})
}

// update records what the provider said at a login or refresh: groups,
// admin, and the refresh token when it sent one. It clears refused.
func (s *Links) update(ctx context.Context, username string, groups []string, admin bool, refresh string) error {
	g, err := json.Marshal(nonNil(groups))
	if err != nil {
		return err
	}
	now := s.now().UnixNano()
	q, args := `UPDATE oidc_users SET groups_json = ?, admin = ?, refused = FALSE, checked_at = ?, updated_at = ?`,
		[]any{string(g), admin, now, now}
	if refresh != "" {
		sealed, err := s.seal.Seal(refresh, labelRefresh)
		if err != nil {
			return err
		}
		q, args = q+`, refresh_token = ?`, append(args, sealed)
	}
	return s.exec(ctx, q+` WHERE username = ?`, append(args, auth.CanonicalUserName(username))...)
}

// refuse records that the provider refused the user's refresh token.
func (s *Links) refuse(ctx context.Context, username string) error {
	now := s.now().UnixNano()
	return s.exec(ctx, `UPDATE oidc_users SET refused = TRUE, admin = FALSE, checked_at = ?, updated_at = ? WHERE username = ?`,
		now, now, auth.CanonicalUserName(username))
}

// SetSecret replaces username's CLI secret; auth.ErrNotFound when it is
// not an OIDC user.
func (s *Links) SetSecret(ctx context.Context, username, secret string) error {
	sealed, err := s.seal.Seal(secret, labelSecret)
	if err != nil {
		return err
	}
	return s.exec(ctx, `UPDATE oidc_users SET secret = ?, updated_at = ? WHERE username = ?`,
		sealed, s.now().UnixNano(), auth.CanonicalUserName(username))
}

// Secret returns username's CLI secret, for its owner to see.
func (s *Links) Secret(ctx context.Context, username string) (string, error) {
	l, err := s.byUser(ctx, username)
	if err != nil {
		return "", err
	}
	return l.secret, nil
}

// Forget removes username's link; wire it to user deletion. Removing a
// user that is not linked is no error.
func (s *Links) Forget(ctx context.Context, username string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM oidc_users WHERE username = ?`, auth.CanonicalUserName(username))
		return err
	})
}

// exec runs one update of one user's row; auth.ErrNotFound when there is
// none.
func (s *Links) exec(ctx context.Context, q string, args ...any) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("oidc: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("%w: OIDC user %q", auth.ErrNotFound, args[len(args)-1])
		}
		return nil
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
