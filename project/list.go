package project

import (
	"context"
	"fmt"
	"github.com/berthlabs/berth/core"
	"strings"
)

// Page sizes.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// MaxSubjects bounds Filter.MemberOf.
	MaxSubjects = 4096
)

// Page selects a window of a listing ordered by name (core's page). Limit
// 0 means DefaultPageSize; a Limit above MaxPageSize is lowered to it.
type Page = core.Page

func normalizedPage(pg Page) (Page, error) {
	if pg.Offset < 0 || pg.Limit < 0 {
		return pg, fmt.Errorf("%w: page offset %d, limit %d: must not be negative", ErrInvalid, pg.Offset, pg.Limit)
	}
	if pg.Limit == 0 {
		pg.Limit = DefaultPageSize
	}
	pg.Limit = min(pg.Limit, MaxPageSize)
	return pg, nil
}

// Filter selects projects; zero fields select everything.
type Filter struct {
	// Name keeps projects whose name contains it.
	Name string
	// NamePrefix keeps projects whose name starts with it.
	NamePrefix string
	// Public, when set, keeps projects of that visibility.
	Public *bool
	// MemberOf keeps projects where at least one of these subjects is a
	// member (a user and their groups). Empty means no restriction.
	MemberOf []string
	// IncludePublic, with MemberOf, keeps public projects too: what a
	// signed-in user who is not a system admin may see in Harbor.
	// Anonymous callers set Public instead.
	IncludePublic bool
	// Order is the listing's order (default by name); Descending reverses
	// it.
	Order      Order
	Descending bool
}

// Order is what a project listing is ordered by.
type Order int

// The orders of a project listing; ties are broken by name.
const (
	ByName Order = iota
	ByCreationTime
	ByUpdateTime
)

// orderBy renders the ORDER BY clause of f: one of six fixed texts.
func (f Filter) orderBy() string {
	dir := " ASC"
	if f.Descending {
		dir = " DESC"
	}
	switch f.Order {
	case ByCreationTime:
		return ` ORDER BY p.created_at` + dir + `, p.name` + dir
	case ByUpdateTime:
		return ` ORDER BY p.updated_at` + dir + `, p.name` + dir
	}
	return ` ORDER BY p.name` + dir
}

// projectWhere has one fixed text per IN-list size: sqldb prepares and
// caches every query text, in a cache shared by all packages and bounded.
const projectWhere = ` FROM project_projects p
	WHERE p.name LIKE ? ESCAPE '\' AND p.name LIKE ? ESCAPE '\'
	AND (? OR p.public = ?)
	AND (? OR (? AND p.public = ?) OR EXISTS (
		SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.subject IN (%s)))`

// List returns one page of the projects f selects, in f's order, and
// how many projects f selects in all.
func (s *Store) List(ctx context.Context, f Filter, pg Page) ([]Project, int, error) {
	pg, err := normalizedPage(pg)
	if err != nil {
		return nil, 0, err
	}
	if len(f.MemberOf) > MaxSubjects {
		return nil, 0, fmt.Errorf("%w: %d subjects in a project filter, the limit is %d", ErrInvalid, len(f.MemberOf), MaxSubjects)
	}
	subjects := f.MemberOf
	if len(subjects) == 0 {
		subjects = []string{""}
	}
	in, inArgs := inList(subjects)
	where := fmt.Sprintf(projectWhere, in)
	args := []any{
		"%" + escapeLike(strings.ToLower(f.Name)) + "%",
		escapeLike(strings.ToLower(f.NamePrefix)) + "%",
		f.Public == nil, f.Public != nil && *f.Public,
		len(f.MemberOf) == 0, f.IncludePublic, true,
	}
	args = append(args, inArgs...)

	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+projectColsP+where+f.orderBy()+` LIMIT ? OFFSET ?`,
		append(args, pg.Limit, pg.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", err)
	}
	defer rows.Close()
	out := []Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, p)
	}
	return out, total, rows.Err()
}

const projectColsP = `p.name, p.id, p.public, p.owner, p.metadata, p.created_at, p.updated_at`

// escapeLike quotes LIKE's wildcards ('_' is common in names).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// inList returns placeholders and arguments for an IN list of vals (1 to
// 4096 of them), padded with vals[0] to one of a few sizes so the number
// of distinct query texts stays small.
func inList(vals []string) (string, []any) {
	size := 4096
	for _, b := range [...]int{1, 8, 64, 512} {
		if len(vals) <= b {
			size = b
			break
		}
	}
	args := make([]any, size)
	for i := range args {
		args[i] = vals[0]
		if i < len(vals) {
			args[i] = vals[i]
		}
	}
	return strings.Repeat("?, ", size-1) + "?", args
}
