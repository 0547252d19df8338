package audit

import (
	"context"
	"errors"
	"fmt"
	"github.com/berthlabs/berth/core"
	"math"
	"strings"
	"time"
)

// Filter selects entries; zero fields match everything. String fields match
// exactly, except Resource, which is a prefix unless ResourceExact is set.
type Filter struct {
	Actor         string
	ActorKind     string
	AttemptedUser string // the name failed logins claimed
	Action        string
	ResourceType  string
	Resource      string // prefix, case-sensitive; '%' and '_' are literal
	ResourceExact bool   // match Resource whole instead of as a prefix
	Project       string // the name, whichever project held it
	// ProjectID keeps the entries of one project (its immutable id): what
	// a project's own log shows.
	ProjectID int64
	Result    string
	From, To  time.Time // both inclusive; zero is unbounded
	// OldestFirst orders the entries by time ascending instead of newest
	// first.
	OldestFirst bool
}

// Page bounds one page of results (core's page): Limit 0 means
// DefaultPageSize; it is capped at MaxPageSize.
type Page = core.Page

// Page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 500
)

const selectColumns = `id, op_time, actor, actor_kind, action, resource_type, resource,
	project, project_id, result, detail, remote_addr, user_agent, count, attempted_user`

// Query returns one page of the entries matching f, newest first, and how
// many entries match in total.
func (s *Store) Query(ctx context.Context, f Filter, p Page) ([]Entry, int, error) {
	if p.Offset < 0 || p.Limit < 0 {
		return nil, 0, errors.New("audit: page offset and limit must not be negative")
	}
	if p.Limit == 0 {
		p.Limit = DefaultPageSize
	}
	p.Limit = min(p.Limit, MaxPageSize)
	countSQL, pageSQL, args := f.sql()

	var total int
	if err := s.db.QueryRow(ctx, countSQL, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("audit: count: %w", err)
	}
	if total <= p.Offset {
		return []Entry{}, total, nil
	}
	rows, err := s.db.Query(ctx, pageSQL, append(args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	out := make([]Entry, 0, min(p.Limit, total-p.Offset))
	for rows.Next() {
		var e Entry
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.ActorKind, &e.Action, &e.ResourceType, &e.Resource,
			&e.Project, &e.ProjectID, &e.Result, &e.Detail, &e.RemoteAddr, &e.UserAgent, &e.Count, &e.AttemptedUser); err != nil {
			return nil, 0, fmt.Errorf("audit: query: %w", err)
		}
		e.Time = time.Unix(0, t).UTC()
		if e.Count == 1 {
			e.Count = 0 // one operation: the zero value, as recorded
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("audit: query: %w", err)
	}
	return out, total, nil
}

// sql returns the count and page queries of f and their arguments (the
// page query takes LIMIT and OFFSET after them).
func (f Filter) sql() (count, page string, args []any) {
	where, args := f.where()
	order := ` ORDER BY op_time DESC, id DESC`
	if f.OldestFirst {
		order = ` ORDER BY op_time ASC, id ASC`
	}
	return `SELECT COUNT(*) FROM audit_log` + where,
		`SELECT ` + selectColumns + ` FROM audit_log` + where + order + ` LIMIT ? OFFSET ?`,
		args
}

// where builds the WHERE clause of f. Conditions come in a fixed order so
// the number of distinct query texts (and cached statements) stays small.
func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = ?")
			args = append(args, v)
		}
	}
	eq("actor", f.Actor)
	eq("actor_kind", f.ActorKind)
	eq("attempted_user", f.AttemptedUser)
	eq("action", f.Action)
	eq("resource_type", f.ResourceType)
	// LIKE narrows through the resource index (NOCASE, as SQLite's LIKE
	// is ASCII case-insensitive); the second test makes the match exact
	// and case-sensitive on every engine.
	switch {
	case f.Resource == "":
	case f.ResourceExact:
		conds = append(conds, `resource LIKE ? ESCAPE '\' AND resource = ?`)
		args = append(args, escapeLike(f.Resource), f.Resource)
	default:
		conds = append(conds, `resource LIKE ? ESCAPE '\' AND substr(resource, 1, length(?)) = ?`)
		args = append(args, escapeLike(f.Resource)+"%", f.Resource, f.Resource)
	}
	eq("project", f.Project)
	if f.ProjectID != 0 {
		conds = append(conds, "project_id = ?")
		args = append(args, f.ProjectID)
	}
	eq("result", f.Result)
	if !f.From.IsZero() {
		conds = append(conds, "op_time >= ?")
		args = append(args, nanos(f.From, math.MinInt64))
	}
	if !f.To.IsZero() {
		conds = append(conds, "op_time <= ?")
		args = append(args, nanos(f.To, math.MaxInt64))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// escapeLike makes s match itself literally in a LIKE pattern with
// ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
