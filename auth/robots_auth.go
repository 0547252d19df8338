package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// Authenticate checks a robot's secret, on the hot path of every Basic
// auth request: one indexed read and one HMAC. Unknown robots and wrong
// secrets return ErrInvalidCredentials. Only when the secret is right does
// it say ErrDisabled or ErrExpired (at the store's clock), so those states
// are not disclosed to whoever merely knows a robot's name.
func (s *Robots) Authenticate(ctx context.Context, name, secret string) (*Robot, error) {
	if !IsRobotName(name) || len(name) > MaxRobotNameLen || len(secret) > maxSecretLen {
		verifyRobotSecret("", secret)
		return nil, ErrInvalidCredentials
	}
	var stored string
	r, err := scanRobot(s.db.QueryRow(ctx, `SELECT `+robotColumns+`, secret_hash FROM auth_robots WHERE name = ?`, name), &stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		verifyRobotSecret("", secret)
		return nil, ErrInvalidCredentials
	case err != nil:
		return nil, err
	case !verifyRobotSecret(stored, secret):
		return nil, ErrInvalidCredentials
	case r.Disabled:
		return nil, fmt.Errorf("%w: robot %q", ErrDisabled, name)
	case r.Expired(s.cfg.now()):
		return nil, fmt.Errorf("%w: robot %q expired at %s", ErrExpired, name, r.ExpiresAt.Format(time.RFC3339))
	}
	return r, nil
}

// Refresh replaces a robot's secret and returns the new one, shown only
// this once; the old secret stops working at once.
func (s *Robots) Refresh(ctx context.Context, name string) (string, error) {
	secret, stored, err := newRobotSecret()
	if err != nil {
		return "", err
	}
	now := s.cfg.now().UTC()
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE auth_robots SET secret_hash = ?, updated_at = ? WHERE name = ?`, stored, nanos(now), name)
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
		return "", dbErr("refresh robot", err)
	}
	s.cfg.emit(ctx, ChangeRobotRefresh, name, "", now)
	return secret, nil
}
