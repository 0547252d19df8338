package maintenance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
)

const (
	settingSchedule = "schedule"
	settingParams   = "params"
)

// Schedule returns the schedule (None when none was set) and the
// parameters of scheduled runs.
func (s *Service[P, R]) Schedule(ctx context.Context) (schedule.Schedule, P, error) {
	sc := schedule.Schedule{Type: schedule.None}
	var p P
	rows, err := s.db.Query(ctx, `SELECT name, value FROM maintenance_settings WHERE task = ?`, s.task.Name)
	if err != nil {
		return sc, p, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return sc, p, err
		}
		switch name {
		case settingSchedule:
			err = json.Unmarshal([]byte(value), &sc)
		case settingParams:
			err = json.Unmarshal([]byte(value), &p)
		}
		if err != nil {
			return sc, p, fmt.Errorf("%s: stored %s: %w", s.task.Title, name, err)
		}
	}
	return sc, p, rows.Err()
}

// SetSchedule stores the schedule and its runs' parameters (checked as
// Run checks them, unless the schedule is None), and applies it at once
// when Start runs the schedule here. Other processes apply it when they
// start.
func (s *Service[P, R]) SetSchedule(ctx context.Context, sc schedule.Schedule, p P) (schedule.Schedule, error) {
	sc, err := sc.Normalized()
	if err != nil {
		return sc, err
	}
	if sc.Type != schedule.None {
		if p, err = s.check(p); err != nil {
			return sc, err
		}
	}
	scJSON, err := json.Marshal(sc)
	if err != nil {
		return sc, err
	}
	pJSON, err := json.Marshal(p)
	if err != nil {
		return sc, fmt.Errorf("%s: parameters: %w", s.task.Title, err)
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		for _, set := range [][2]string{{settingSchedule, string(scJSON)}, {settingParams, string(pJSON)}} {
			if _, err := tx.Exec(ctx, `INSERT INTO maintenance_settings (task, name, value) VALUES (?, ?, ?)
				ON CONFLICT (task, name) DO UPDATE SET value = excluded.value`, s.task.Name, set[0], set[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return sc, err
	}
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	if !s.scheduling {
		return sc, nil
	}
	return sc, s.cron.Set(sc)
}

// fire starts the run of a tick of the schedule, unless another process
// claimed the tick or a run is in progress (another process's tick, or a
// long manual run).
func (s *Service[P, R]) fire(tick time.Time) {
	ctx := context.Background()
	_, p, err := s.Schedule(ctx)
	if err == nil {
		_, err = s.start(ctx, p, Scheduled, tick)
	}
	if err != nil && !errors.Is(err, core.ErrConflict) {
		s.log.Error(s.task.Title+": scheduled run", "err", err)
	}
}
