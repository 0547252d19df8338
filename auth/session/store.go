package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// record is one session row.
type record struct {
	hash     string // SHA-256 of the id, hex
	username string
	groups   []string
	csrf     string
	created  time.Time
	lastSeen time.Time
	expires  time.Time // the absolute end
}

// idBytes is the size of a session id and of a CSRF token: 256 bits.
const idBytes = 32

// idLen is the length of an id as the cookie carries it (unpadded
// base64url).
var idLen = base64.RawURLEncoding.EncodedLen(idBytes)

// newSecret returns 256 random bits, base64url-encoded.
func newSecret() string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashID is how the database knows an id.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// wellFormed tells whether id can be one this package made, so that
// garbage never reaches the database.
func wellFormed(id string) bool {
	if len(id) != idLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// MaxPerUser bounds the sessions a user holds at once: a new one ends
// the oldest beyond it.
const MaxPerUser = 32

// create stores a new session of username and returns its id.
func (m *Manager) create(ctx context.Context, username string, groups []string) (string, *record, error) {
	id, now := newSecret(), m.now()
	rec := &record{hash: hashID(id), username: username, groups: groups, csrf: newSecret(),
		created: now, lastSeen: now, expires: now.Add(m.lifetime)}
	err := m.db.Write(ctx, func(tx *sqldb.Tx) error {
		// The user's oldest sessions beyond the cap end: logging in in a
		// loop cannot grow the table without bound.
		if _, err := tx.Exec(ctx, `DELETE FROM auth_sessions WHERE username = ? AND id_hash NOT IN (
			SELECT id_hash FROM auth_sessions WHERE username = ? ORDER BY created_at DESC, id_hash LIMIT ?)`,
			username, username, MaxPerUser-1); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO auth_sessions (id_hash, username, user_groups, csrf_token, created_at, last_seen, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, rec.hash, username, strings.Join(groups, "\n"), rec.csrf,
			now.UnixNano(), now.UnixNano(), rec.expires.UnixNano())
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return id, rec, nil
}

// lookup returns the live session id names, or nil when there is none:
// unknown, logged out, idle too long or past its lifetime (an ended row
// is deleted on the way). A session in use has its last use recorded,
// at most once per touchInterval.
func (m *Manager) lookup(ctx context.Context, id string) (*record, error) {
	if !wellFormed(id) {
		return nil, nil
	}
	rec := &record{hash: hashID(id)}
	var groups string
	var created, seen, expires int64
	err := m.db.QueryRow(ctx, `SELECT username, user_groups, csrf_token, created_at, last_seen, expires_at
		FROM auth_sessions WHERE id_hash = ?`, rec.hash).Scan(&rec.username, &groups, &rec.csrf, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rec.created, rec.lastSeen, rec.expires = time.Unix(0, created), time.Unix(0, seen), time.Unix(0, expires)
	if groups != "" {
		rec.groups = strings.Split(groups, "\n")
	}
	now := m.now()
	if !now.Before(rec.expires) || !now.Before(rec.lastSeen.Add(m.idle)) {
		return nil, m.deleteHash(ctx, rec.hash)
	}
	if now.Sub(rec.lastSeen) >= m.touchInterval() {
		err := m.db.Write(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE auth_sessions SET last_seen = ? WHERE id_hash = ? AND last_seen < ?`,
				now.UnixNano(), rec.hash, now.UnixNano())
			return err
		})
		if err != nil {
			return nil, err
		}
		rec.lastSeen = now
	}
	return rec, nil
}

// touchInterval bounds how often a session's last use is written: a
// tenth of the idle timeout, at most a minute, so a busy browser costs
// few writes and the idle timeout is kept within that.
func (m *Manager) touchInterval() time.Duration { return min(m.idle/10, time.Minute) }

// deleteHash removes one session.
func (m *Manager) deleteHash(ctx context.Context, hash string) error {
	return m.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM auth_sessions WHERE id_hash = ?`, hash)
		return err
	})
}

// EndUser ends every session of username, on every node: wire it to the
// deletion of the account (a new account of the same name must not
// inherit them) and to whatever else revokes a user's access. It returns
// how many sessions ended.
func (m *Manager) EndUser(ctx context.Context, username string) (int64, error) {
	return m.deleteWhere(ctx, `username = ?`, username)
}

// Purge deletes the sessions that have ended (idle too long or past
// their lifetime) and returns how many; the server calls it now and
// then. Ended sessions are refused whether or not they were purged.
func (m *Manager) Purge(ctx context.Context) (int64, error) {
	now := m.now()
	return m.deleteWhere(ctx, `expires_at <= ? OR last_seen <= ?`, now.UnixNano(), now.Add(-m.idle).UnixNano())
}

func (m *Manager) deleteWhere(ctx context.Context, where string, args ...any) (int64, error) {
	var n int64
	err := m.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM auth_sessions WHERE `+where, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
