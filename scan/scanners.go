package scan

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// Adapter authentication schemes (Harbor's registration "auth" values).
const (
	AuthNone   = ""
	AuthBasic  = "Basic"
	AuthBearer = "Bearer"
	AuthAPIKey = "X-ScannerAdapter-API-Key"
)

// Registration is a scanner berth knows: the built-in one (Builtin, no
// URL) or a Harbor pluggable scanner adapter reached at URL.
type Registration struct {
	ID          string    `json:"uuid"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	URL         string    `json:"url"`
	Auth        string    `json:"auth"`
	Credential  string    `json:"access_credential,omitempty"`
	SkipVerify  bool      `json:"skip_certVerify"`
	UseInternal bool      `json:"use_internal_addr"`
	Disabled    bool      `json:"disabled"`
	Default     bool      `json:"is_default"`
	Builtin     bool      `json:"-"`
	CreatedAt   time.Time `json:"create_time"`
	UpdatedAt   time.Time `json:"update_time"`
}

// validate checks a registration of an adapter before it is stored.
func (r *Registration) validate() error {
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" || len(r.Name) > 128 {
		return fmt.Errorf("%w: scanner name %q: want 1 to 128 characters", ErrInvalid, r.Name)
	}
	if len(r.Description) > 1024 || len(r.Credential) > 4096 {
		return fmt.Errorf("%w: scanner description or credential too long", ErrInvalid)
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(r.URL) > 2048 {
		return fmt.Errorf("%w: scanner URL %q: want http(s)://host[:port][/path]", ErrInvalid, r.URL)
	}
	switch r.Auth {
	case AuthNone, AuthBasic, AuthBearer, AuthAPIKey:
	default:
		return fmt.Errorf("%w: scanner auth %q: want \"\", %q, %q or %q", ErrInvalid, r.Auth, AuthBasic, AuthBearer, AuthAPIKey)
	}
	if r.Auth == AuthBasic && !strings.Contains(r.Credential, ":") {
		return fmt.Errorf("%w: Basic auth needs an access credential of the form user:password", ErrInvalid)
	}
	return nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

const scannerCols = `id, name, description, url, auth, credential, skip_cert_verify, use_internal, disabled, created_at, updated_at`

func scanRegistration(row interface{ Scan(...any) error }) (Registration, error) {
	var (
		r        Registration
		cre, upd int64
	)
	err := row.Scan(&r.ID, &r.Name, &r.Description, &r.URL, &r.Auth, &r.Credential, &r.SkipVerify, &r.UseInternal,
		&r.Disabled, &cre, &upd)
	r.CreatedAt, r.UpdatedAt = fromNanos(cre), fromNanos(upd)
	return r, err
}

func (s *store) registrations(ctx context.Context) ([]Registration, error) {
	rows, err := s.db.Query(ctx, `SELECT `+scannerCols+` FROM scan_scanners ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Registration
	for rows.Next() {
		r, err := scanRegistration(rows)
		if err != nil {
			return nil, err
		}
		if r.Credential, err = s.seal.Open(r.Credential, credentialLabel); err != nil {
			return nil, fmt.Errorf("scan: scanner %q's credential: %w", r.Name, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *store) registration(ctx context.Context, id string) (Registration, error) {
	r, err := scanRegistration(s.db.QueryRow(ctx, `SELECT `+scannerCols+` FROM scan_scanners WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("scan: scanner %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, err
	}
	if r.Credential, err = s.seal.Open(r.Credential, credentialLabel); err != nil {
		return r, fmt.Errorf("scan: scanner %q's credential: %w", r.Name, err)
	}
	return r, nil
}

// credentialLabel binds sealed adapter credentials to their column.
const credentialLabel = "berth-scan-scanner-credential"

// flag is a bool as the schema stores it on both engines: INTEGER 0 or 1
// (PostgreSQL does not take a boolean for an integer column).
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rowQuerier is a DB or a Tx.
type rowQuerier interface {
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// nameTaken reports whether a registration other than id is named name.
func nameTaken(ctx context.Context, q rowQuerier, name, id string) (bool, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM scan_scanners WHERE name = ? AND id <> ?`, name, id).Scan(&n)
	return n > 0, err
}

func (s *store) putRegistration(ctx context.Context, r Registration, create bool) error {
	sealed, err := s.seal.Seal(r.Credential, credentialLabel)
	if err != nil {
		return err
	}
	r.Credential = sealed
	taken := fmt.Errorf("scan: a scanner named %q: %w", r.Name, ErrExists)
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		dup, err := nameTaken(ctx, tx, r.Name, r.ID)
		if err != nil {
			return err
		}
		if dup {
			return taken
		}
		var res sql.Result
		if create {
			res, err = tx.Exec(ctx, `INSERT INTO scan_scanners (`+scannerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.ID, r.Name, r.Description, r.URL, r.Auth, r.Credential, flag(r.SkipVerify), flag(r.UseInternal), flag(r.Disabled),
				nanos(r.CreatedAt), nanos(r.UpdatedAt))
		} else {
			res, err = tx.Exec(ctx, `UPDATE scan_scanners SET name = ?, description = ?, url = ?, auth = ?, credential = ?,
				skip_cert_verify = ?, use_internal = ?, disabled = ?, updated_at = ? WHERE id = ?`,
				r.Name, r.Description, r.URL, r.Auth, r.Credential, flag(r.SkipVerify), flag(r.UseInternal), flag(r.Disabled),
				nanos(r.UpdatedAt), r.ID)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, fmt.Errorf("scan: scanner %q: %w", r.ID, ErrNotFound))
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrExists) && !errors.Is(err, ErrNotFound) {
		// Two registrations of one name at once (PostgreSQL): neither
		// check saw the other, and the unique index refused the second.
		if dup, _ := nameTaken(ctx, s.db, r.Name, r.ID); dup {
			return taken
		}
	}
	return err
}

func (s *store) deleteRegistration(ctx context.Context, id string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM scan_scanners WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("scan: scanner %q: %w", id, ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM scan_project_scanners WHERE scanner = ?`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM scan_settings WHERE name = 'default_scanner' AND value = ?`, id)
		return err
	})
}

func (s *store) projectScanner(ctx context.Context, projectID int64) (string, error) {
	var id string
	err := s.db.QueryRow(ctx, `SELECT scanner FROM scan_project_scanners WHERE project_id = ?`, projectID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// lockScanner locks registration id's row until tx ends, so that a
// concurrent deleteRegistration comes wholly before it (ErrNotFound) or
// wholly after it (and then clears what tx points at id). The built-in
// scanner has no row.
func lockScanner(ctx context.Context, tx *sqldb.Tx, id string) error {
	if id == BuiltinID {
		return nil
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM scan_scanners WHERE id = ?`+tx.ForUpdate(), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("scan: scanner %q: %w", id, ErrNotFound)
	}
	return err
}

func (s *store) setProjectScanner(ctx context.Context, projectID int64, id string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if id == "" {
			_, err := tx.Exec(ctx, `DELETE FROM scan_project_scanners WHERE project_id = ?`, projectID)
			return err
		}
		if err := lockScanner(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO scan_project_scanners (project_id, scanner) VALUES (?, ?)
			ON CONFLICT (project_id) DO UPDATE SET scanner = excluded.scanner`, projectID, id)
		return err
	})
}

// setDefaultScanner makes id the default scanner or, with ifUnset, only
// when no default is stored (the first adapter registered without a
// built-in scanner; of several registered at once, one wins).
func (s *store) setDefaultScanner(ctx context.Context, id string, ifUnset bool) error {
	action := `DO UPDATE SET value = excluded.value`
	if ifUnset {
		action = `DO NOTHING`
	}
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := lockScanner(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO scan_settings (name, value) VALUES (?, ?) ON CONFLICT (name) `+action,
			settingDefaultScanner, id)
		return err
	})
}
