package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// RobotUpdate lists the fields to change; nil fields are kept.
type RobotUpdate struct {
	Description *string
	Permissions *[]RobotPermission
	Disabled    *bool
	ExpiresAt   *time.Time // a pointer to the zero time: never expires
}

// Update changes a robot's description, permissions, disabled flag or
// expiry, and returns the robot as stored. Name, level and project never
// change; delete and create instead.
func (s *Robots) Update(ctx context.Context, name string, u RobotUpdate) (*Robot, error) {
	now := s.cfg.now().UTC()
	if u.Permissions != nil && s.cfg.projects != nil {
		// Project ids are resolved before the write transaction: the
		// project store reads the database, which the transaction holds.
		cur, err := s.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		perms, err := normalizePermissions(cur.Level, cur.Project, *u.Permissions)
		if err != nil {
			return nil, err
		}
		r := &Robot{Project: cur.Project, Permissions: perms}
		if err := s.resolveProjects(ctx, r); err != nil {
			return nil, err
		}
		u.Permissions = &r.Permissions
	}
	var out *Robot
	var changed []string
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// Locked: the row is written back whole, so an update that ran
		// in between (another node's) would otherwise be undone.
		r, err := scanRobot(tx.QueryRow(ctx, `SELECT `+robotColumns+` FROM auth_robots WHERE name = ?`+tx.ForUpdate(), name))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: robot %q", ErrNotFound, name)
		}
		if err != nil {
			return err
		}
		if changed, err = applyRobotUpdate(r, u); err != nil || len(changed) == 0 {
			out = r
			return err
		}
		perms, err := json.Marshal(r.Permissions)
		if err != nil {
			return err
		}
		r.UpdatedAt, out = now, r
		_, err = tx.Exec(ctx, `UPDATE auth_robots SET description = ?, permissions = ?, disabled = ?, expires_at = ?, updated_at = ?
			WHERE name = ?`, r.Description, string(perms), r.Disabled, nanos(r.ExpiresAt), nanos(now), name)
		return err
	})
	if err != nil {
		return nil, dbErr("update robot", err)
	}
	if len(changed) > 0 {
		s.cfg.emit(ctx, ChangeRobotUpdate, name, strings.Join(changed, ","), now)
	}
	return out, nil
}

// applyRobotUpdate validates and applies u to r, naming what changed.
func applyRobotUpdate(r *Robot, u RobotUpdate) ([]string, error) {
	var changed []string
	if u.Description != nil && *u.Description != r.Description {
		if err := validateDescription(*u.Description); err != nil {
			return nil, err
		}
		r.Description, changed = *u.Description, append(changed, "description")
	}
	if u.Permissions != nil {
		perms, err := normalizePermissions(r.Level, r.Project, *u.Permissions)
		if err != nil {
			return nil, err
		}
		// Ids count: stored without them (or with a re-created project's),
		// the same grants are stored again with the ids of now.
		if !slices.Equal(perms, r.Permissions) {
			r.Permissions, changed = perms, append(changed, "permissions")
		}
	}
	if u.Disabled != nil && *u.Disabled != r.Disabled {
		r.Disabled, changed = *u.Disabled, append(changed, fmt.Sprintf("disabled=%t", *u.Disabled))
	}
	if u.ExpiresAt != nil && !u.ExpiresAt.Equal(r.ExpiresAt) {
		if err := validateExpiry(*u.ExpiresAt); err != nil {
			return nil, err
		}
		r.ExpiresAt, changed = fromNanos(nanos(*u.ExpiresAt)), append(changed, "expires_at")
	}
	return changed, nil
}
