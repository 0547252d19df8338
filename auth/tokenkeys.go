package auth

import (
	"context"
	"crypto"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations/sqlite/*_token_keys.sql migrations/postgres/*_token_keys.sql
var tokenKeysMigrations embed.FS

// TokenKeys keeps the token service's signing keys in the database,
// sealed with the server's secret key, so that every process sharing the
// database (the nodes of a scale-out installation) signs and verifies
// tokens with the same keys: a token issued by one node is accepted by
// all.
//
//	keys, err := auth.NewTokenKeys(ctx, db, secretKey)
//	signer, retired, err := keys.Load(ctx)
//	svc, err := token.New(realm, "berth", token.WithSigningKey(signer, ""))
type TokenKeys struct {
	db   *sqldb.DB
	seal *seal.Sealer
	now  func() time.Time
}

// NewTokenKeys returns the key store over db, applying its migrations.
// secretKey is the 32-byte key the keys are sealed with; every process
// sharing db must be given the same one.
func NewTokenKeys(ctx context.Context, db *sqldb.DB, secretKey []byte) (*TokenKeys, error) {
	if len(secretKey) == 0 {
		return nil, errors.New("auth: token keys: a secret key is required to seal them")
	}
	s, err := seal.New(secretKey)
	if err != nil {
		return nil, fmt.Errorf("auth: token keys: %w", err)
	}
	if err := migrate(ctx, db, "auth.token_keys", tokenKeysMigrations); err != nil {
		return nil, err
	}
	return &TokenKeys{db: db, seal: s, now: time.Now}, nil
}

// sealLabel binds sealed keys to their use.
const sealLabel = "auth token signing key"

// Load returns the signing key, creating it when there is none (the
// first process to start wins; the others read its key), and the public
// keys of the retired ones. A key sealed with another secret key is an
// error that says so: the processes sharing the database disagree.
func (k *TokenKeys) Load(ctx context.Context) (crypto.Signer, []crypto.PublicKey, error) {
	if err := k.ensureActive(ctx); err != nil {
		return nil, nil, err
	}
	rows, err := k.db.Query(ctx, `SELECT id, sealed, active FROM auth_token_keys ORDER BY id`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var signer crypto.Signer
	var retired []crypto.PublicKey
	for rows.Next() {
		var (
			id     int64
			sealed string
			active int
		)
		if err := rows.Scan(&id, &sealed, &active); err != nil {
			return nil, nil, err
		}
		pem, err := k.seal.Open(sealed, sealLabel)
		if err != nil {
			return nil, nil, fmt.Errorf("auth: token key %d: %w (is every node given the same secret key?)", id, err)
		}
		key, err := token.ParseKey([]byte(pem))
		if err != nil {
			return nil, nil, fmt.Errorf("auth: token key %d: %w", id, err)
		}
		if active == 1 {
			signer = key
		} else {
			retired = append(retired, key.Public())
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if signer == nil {
		return nil, nil, errors.New("auth: token keys: no signing key after creating one")
	}
	return signer, retired, nil
}

// ensureActive stores a new signing key unless one exists; concurrent
// callers agree on one through the unique index on the active key.
func (k *TokenKeys) ensureActive(ctx context.Context) error {
	var n int
	if err := k.db.QueryRow(ctx, `SELECT COUNT(*) FROM auth_token_keys WHERE active = 1`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	sealed, err := k.newSealedKey()
	if err != nil {
		return err
	}
	return k.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO auth_token_keys (sealed, active, created_at) VALUES (?, 1, ?)
			ON CONFLICT (active) WHERE active = 1 DO NOTHING`, sealed, k.now().UnixNano())
		return err
	})
}

func (k *TokenKeys) newSealedKey() (string, error) {
	key, err := token.GenerateKey()
	if err != nil {
		return "", err
	}
	pem, err := token.MarshalKey(key)
	if err != nil {
		return "", err
	}
	return k.seal.Seal(string(pem), sealLabel)
}

// Rotate retires the signing key and stores a new one, in one
// transaction, and forgets keys retired more than keep ago (tokens live
// minutes; keep should be longer than their lifetime). Processes sign
// with the new key and accept it once they Load again (at their next
// start): rotate, then restart every node. Concurrent rotations (from
// several nodes) all succeed, each retiring the key stored before it.
func (k *TokenKeys) Rotate(ctx context.Context, keep time.Duration) error {
	sealed, err := k.newSealedKey()
	if err != nil {
		return err
	}
	now := k.now().UnixNano()
	return k.db.Write(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM auth_token_keys WHERE active = 0 AND retired_at < ?`,
			now-keep.Nanoseconds()); err != nil {
			return err
		}
		// One round on SQLite. On PostgreSQL a rotation whose UPDATE
		// waited for another's finds the key it waited for retired, and
		// cannot see the other's new key (its statement began before
		// that committed): its insert then finds that key in the way
		// (waiting for it to commit if need be), and the next round's
		// UPDATE, a new statement, retires it.
		for range maxRotateRounds {
			if _, err := tx.Exec(ctx, `UPDATE auth_token_keys SET active = 0, retired_at = ? WHERE active = 1`, now); err != nil {
				return err
			}
			res, err := tx.Exec(ctx, `INSERT INTO auth_token_keys (sealed, active, created_at) VALUES (?, 1, ?)
				ON CONFLICT (active) WHERE active = 1 DO NOTHING`, sealed, now)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				return err
			}
		}
		return errors.New("auth: token keys: too many rotations at once")
	})
}

// maxRotateRounds bounds Rotate's rounds: each round that fails to store
// the new key has seen another rotation commit.
const maxRotateRounds = 16
