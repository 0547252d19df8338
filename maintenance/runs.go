package maintenance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

const runCols = `id, kind, status, params, result, error, created_at, updated_at`

func (s *Service[P, R]) scanRun(row interface{ Scan(...any) error }) (Run[P, R], error) {
	var r Run[P, R]
	var params, result string
	var created, updated int64
	if err := row.Scan(&r.ID, &r.Kind, &r.Status, &params, &result, &r.Error, &created, &updated); err != nil {
		return r, err
	}
	r.Created, r.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
		return r, fmt.Errorf("%s %d: stored parameters: %w", s.task.Title, r.ID, err)
	}
	if result != "" {
		if err := json.Unmarshal([]byte(result), &r.Result); err != nil {
			return r, fmt.Errorf("%s %d: stored result: %w", s.task.Title, r.ID, err)
		}
	}
	return r, nil
}

// Get returns one run, or an error matching core.ErrNotFound.
func (s *Service[P, R]) Get(ctx context.Context, id int64) (Run[P, R], error) {
	r, err := s.scanRun(s.db.QueryRow(ctx, `SELECT `+runCols+` FROM maintenance_runs WHERE id = ? AND task = ?`,
		id, s.task.Name))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%s %d: %w", s.task.Title, id, core.ErrNotFound)
	}
	return r, err
}

// History lists runs, newest first (default 20, at most 100 a page), with
// the total count.
func (s *Service[P, R]) History(ctx context.Context, page core.Page) ([]Run[P, R], int, error) {
	page = page.Bounded(20, 100)
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM maintenance_runs WHERE task = ?`, s.task.Name).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+runCols+` FROM maintenance_runs WHERE task = ? ORDER BY id DESC LIMIT ? OFFSET ?`,
		s.task.Name, page.Limit, page.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Run[P, R]{}
	for rows.Next() {
		r, err := s.scanRun(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// Log returns a run's log, or an error matching core.ErrNotFound.
func (s *Service[P, R]) Log(ctx context.Context, id int64) (string, error) {
	var l string
	err := s.db.QueryRow(ctx, `SELECT log FROM maintenance_runs WHERE id = ? AND task = ?`, id, s.task.Name).Scan(&l)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s %d: %w", s.task.Title, id, core.ErrNotFound)
	}
	return l, err
}

// markRunning records that a run's worker started, unless it was stopped.
func (s *Service[P, R]) markRunning(ctx context.Context, id int64) (bool, error) {
	var n int64
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE maintenance_runs SET status = ?, updated_at = ? WHERE id = ? AND status IN (?, ?)`,
			StatusRunning, s.now().UnixNano(), id, StatusPending, StatusRunning)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// markStopped ends a run that no worker here works on, unless it ended.
func (s *Service[P, R]) markStopped(ctx context.Context, id int64) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE maintenance_runs SET status = ?, updated_at = ? WHERE id = ? AND status IN (?, ?)`,
			StatusStopped, s.now().UnixNano(), id, StatusPending, StatusRunning)
		return err
	})
}

// end records a run's end and what it did.
func (s *Service[P, R]) end(ctx context.Context, id int64, status string, res R, errText string) error {
	_, err := s.setEnd(ctx, id, status, res, errText, false)
	return err
}

// fail ends a run as an error, with no result, unless it has ended: a
// run whose worker recorded its end in the meantime keeps that record. It
// reports whether it ended the run.
func (s *Service[P, R]) fail(ctx context.Context, id int64, why string) (bool, error) {
	var zero R
	return s.setEnd(ctx, id, StatusError, zero, why, true)
}

func (s *Service[P, R]) setEnd(ctx context.Context, id int64, status string, res R, errText string, onlyActive bool) (bool, error) {
	result, err := json.Marshal(res)
	if err != nil {
		return false, fmt.Errorf("%s %d: result: %w", s.task.Title, id, err)
	}
	q, args := `UPDATE maintenance_runs SET status = ?, updated_at = ?, result = ?, error = ? WHERE id = ?`,
		[]any{status, s.now().UnixNano(), string(result), errText, id}
	if onlyActive {
		q, args = q+` AND status IN (?, ?)`, append(args, StatusPending, StatusRunning)
	}
	var n int64
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}
