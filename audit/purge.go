package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// PurgeOperations deletes the entries recorded before olderThan whose
// action is one of actions (every action when actions is empty), and
// reports how many. With dryRun it deletes nothing and reports how many it
// would delete. It deletes in transactions of at most 5,000 entries, each
// through an index (op_time, or action and op_time), so a purge of
// millions never holds the database's single writer for long; a cancelled
// context stops it between two, with the count so far. A zero olderThan
// is core.ErrInvalid; for any other t, Purge(ctx, t) is
// PurgeOperations(ctx, t, nil, false).
func (s *Store) PurgeOperations(ctx context.Context, olderThan time.Time, actions []string, dryRun bool) (int64, error) {
	return s.purgeBatched(ctx, olderThan, actions, dryRun, purgeChunk, nil)
}

// purgeProgress is told of each batch: its action ("" for all), how many
// it deleted and the total so far.
type purgeProgress func(action string, n, total int64)

// purgeBatched is PurgeOperations with its batch size and a progress
// callback.
func (s *Store) purgeBatched(ctx context.Context, olderThan time.Time, actions []string, dryRun bool,
	batch int, progress purgeProgress) (int64, error) {
	if olderThan.IsZero() {
		return 0, fmt.Errorf("audit: a purge needs a time to purge before: %w", core.ErrInvalid)
	}
	if batch <= 0 {
		batch = purgeChunk
	}
	cutoff := nanos(olderThan, math.MinInt64)
	actions = cleanActions(actions)
	if dryRun {
		return s.countPurgeable(ctx, cutoff, actions)
	}
	var total int64
	// purge deletes the entries matching where, oldest first, a batch a
	// transaction.
	purge := func(action, where string, args ...any) error {
		del := `DELETE FROM audit_log WHERE id IN
			(SELECT id FROM audit_log WHERE ` + where + ` ORDER BY op_time LIMIT ?)`
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			var n int64
			// A stop (ctx cancelled) takes effect between batches: one
			// cancelled during its commit could have committed while
			// reporting an error, and its entries would go uncounted.
			// Each batch is short, and the statement timeout bounds it.
			bctx := context.WithoutCancel(ctx)
			err := s.db.Write(bctx, func(tx *sqldb.Tx) error {
				res, err := tx.Exec(bctx, del, append(args, batch)...)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return err // rolled back: n did not go
			}
			total += n
			if n > 0 && progress != nil {
				progress(action, n, total)
			}
			if n == int64(batch) {
				continue
			}
			// A short batch is the last on SQLite, where no one else
			// writes meanwhile. On PostgreSQL a concurrent purge may have
			// held some of the rows the batch chose, and DELETE skips a
			// row deleted under it: the batch comes out short while
			// others remain (that purge may choose another action, or
			// roll back). Go on while any match: the next batch waits
			// for that purge's locks.
			if s.db.Exclusive() {
				return nil
			}
			var one int
			err = s.db.QueryRow(ctx, `SELECT 1 FROM audit_log WHERE `+where+` LIMIT 1`, args...).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	var err error
	if len(actions) == 0 {
		err = purge("", `op_time < ?`, cutoff)
	}
	// One action at a time: each batch is a range of the (action,
	// op_time) index, never a sort of every match.
	for _, a := range actions {
		if err = purge(a, `action = ? AND op_time < ?`, a, cutoff); err != nil {
			break
		}
	}
	if err != nil {
		return total, fmt.Errorf("audit: purge: %w", err)
	}
	return total, nil
}

// countPurgeable counts what a purge would delete.
func (s *Store) countPurgeable(ctx context.Context, cutoff int64, actions []string) (int64, error) {
	var total int64
	count := func(query string, args ...any) error {
		var n int64
		err := s.db.QueryRow(ctx, query, args...).Scan(&n)
		total += n
		return err
	}
	var err error
	if len(actions) == 0 {
		err = count(`SELECT COUNT(*) FROM audit_log WHERE op_time < ?`, cutoff)
	}
	for _, a := range actions {
		if err = count(`SELECT COUNT(*) FROM audit_log WHERE action = ? AND op_time < ?`, a, cutoff); err != nil {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("audit: purge (dry run): %w", err)
	}
	return total, nil
}

// cleanActions trims actions, drops empty ones and duplicates, and sorts
// them.
func cleanActions(actions []string) []string {
	var out []string
	for _, a := range actions {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// harborOperations maps the operation names Harbor's purge takes (its
// include_operations, and the artifact event types of later versions) to
// the actions this log records.
var harborOperations = map[string][]string{
	"create": {ActionPush, ActionProjectCreate, ActionUserCreate, ActionRobotCreate, ActionMemberAdd},
	"delete": {ActionDelete, ActionProjectDelete, ActionUserDelete, ActionRobotDelete, ActionMemberRemove},
	"pull":   {ActionPull},
	"update": {ActionProjectUpdate, ActionRobotUpdate, ActionRoleChange, ActionPasswordChange},

	"create_artifact": {ActionPush},
	"delete_artifact": {ActionDelete},
	"pull_artifact":   {ActionPull},
}

// PurgeActions turns the operations a purge is asked for into the
// actions to purge: Harbor's operation names ("create", "delete", "pull",
// "update"; "create_artifact", "delete_artifact", "pull_artifact") stand
// for the actions of that kind this log records ("create" is push,
// project-create, user-create, robot-create and member-add); any other
// name is an action exactly as recorded ("login-failure",
// "chart-upload", "createRegistry", ...). Harbor's names are matched
// without regard to case. No operations give no actions: a purge of every
// action.
func PurgeActions(ops []string) []string {
	var out []string
	for _, op := range ops {
		op = strings.TrimSpace(op)
		if as, ok := harborOperations[strings.ToLower(op)]; ok {
			out = append(out, as...)
		} else if op != "" {
			out = append(out, op)
		}
	}
	return cleanActions(out)
}
