package replicate

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// SessionStore keeps the upload sessions a copy left unfinished, so a
// later attempt resumes them. Keys name the destination, the repository
// and the blob. The default keeps them in memory for the Copier's life; a
// Service keeps them in its database, so they survive a restart.
type SessionStore interface {
	LoadSession(ctx context.Context, key string) (location string, offset int64, hashState []byte, ok bool)
	SaveSession(ctx context.Context, key, location string, offset int64, hashState []byte)
	DeleteSession(ctx context.Context, key string)
}

// WithSessionStore keeps upload sessions in s.
func WithSessionStore(s SessionStore) CopyOption { return func(c *Copier) { c.sessions = s } }

type memSessions struct{ m sync.Map }

func (s *memSessions) LoadSession(_ context.Context, key string) (string, int64, []byte, bool) {
	v, ok := s.m.Load(key)
	if !ok {
		return "", 0, nil, false
	}
	ss := v.(session)
	return ss.loc, ss.ck.off, ss.ck.state, true
}

func (s *memSessions) SaveSession(_ context.Context, key, loc string, off int64, state []byte) {
	s.m.Store(key, session{loc: loc, ck: checkpoint{off: off, state: state}})
}

func (s *memSessions) DeleteSession(_ context.Context, key string) { s.m.Delete(key) }

// sqlSessions keeps sessions in the service's database; a failure to save
// one only loses the chance to resume it.
type sqlSessions struct {
	db  *sqldb.DB
	now func() time.Time
}

// maxSessionAge: older sessions are not resumed (registries purge
// abandoned uploads).
const maxSessionAge = 24 * time.Hour

func (s *sqlSessions) LoadSession(ctx context.Context, key string) (string, int64, []byte, bool) {
	var (
		loc      string
		off, upd int64
		state    []byte
	)
	err := s.db.QueryRow(ctx, `SELECT location, offset_, state, updated_at FROM repl_uploads WHERE key = ?`, key).
		Scan(&loc, &off, &state, &upd)
	if errors.Is(err, sql.ErrNoRows) || err != nil || s.now().Sub(fromMS(upd)) > maxSessionAge {
		return "", 0, nil, false
	}
	return loc, off, state, true
}

func (s *sqlSessions) SaveSession(ctx context.Context, key, loc string, off int64, state []byte) {
	_ = s.db.Write(context.WithoutCancel(ctx), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO repl_uploads (key, location, offset_, state, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET location = excluded.location, offset_ = excluded.offset_,
			state = excluded.state, updated_at = excluded.updated_at`, key, loc, off, state, ms(s.now()))
		return err
	})
}

func (s *sqlSessions) DeleteSession(ctx context.Context, key string) {
	_ = s.db.Write(context.WithoutCancel(ctx), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM repl_uploads WHERE key = ? OR updated_at < ?`, key, ms(s.now().Add(-maxSessionAge)))
		return err
	})
}
