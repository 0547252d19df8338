package auth

import (
	"context"
	"fmt"
	"github.com/berthlabs/berth/core"
)

// RobotFilter selects a page of robots.
type RobotFilter struct {
	Level   RobotLevel // "" for both
	Project string     // "" for any; a name for that project's robots
	// Page: Limit 0 for DefaultPageSize; at most MaxPageSize.
	core.Page
}

// List returns a page of robots ordered by name, and how many match the
// filter in total.
func (s *Robots) List(ctx context.Context, f RobotFilter) ([]Robot, int, error) {
	offset, limit, err := pageBounds(f.Offset, f.Limit)
	if err != nil {
		return nil, 0, err
	}
	where, args := "1 = 1", []any{}
	if f.Level != "" {
		where, args = where+" AND level = ?", append(args, string(f.Level))
	}
	if f.Project != "" {
		where, args = where+" AND project = ?", append(args, f.Project)
		if s.cfg.projects != nil {
			// Not the robots of an earlier project that held the name.
			id, _, err := s.cfg.projects.ProjectID(ctx, f.Project)
			if err != nil {
				return nil, 0, fmt.Errorf("auth: list robots: project %q: %w", f.Project, err)
			}
			where, args = where+" AND project_id IN (0, ?)", append(args, id)
		}
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM auth_robots WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("auth: count robots: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+robotColumns+` FROM auth_robots WHERE `+where+` ORDER BY name LIMIT ? OFFSET ?`,
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("auth: list robots: %w", err)
	}
	defer rows.Close()
	out := []Robot{}
	for rows.Next() {
		r, err := scanRobot(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("auth: list robots: %w", err)
	}
	return out, total, nil
}
