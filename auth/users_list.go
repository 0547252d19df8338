package auth

import (
	"context"
	"fmt"
	"github.com/berthlabs/berth/core"
	"strings"
)

// UserFilter selects a page of users.
type UserFilter struct {
	NamePrefix string // "" for all
	// NameContains keeps the names that contain it anywhere ("" for all);
	// it narrows NamePrefix's selection when both are set.
	NameContains string
	// Page: Limit 0 for DefaultPageSize; at most MaxPageSize.
	core.Page
}

// Page sizes of List.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

func pageBounds(offset, limit int) (int, int, error) {
	if offset < 0 || limit < 0 {
		return 0, 0, fmt.Errorf("%w: negative offset or limit", ErrInvalid)
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	return offset, min(limit, MaxPageSize), nil
}

// List returns a page of users ordered by name, and how many users match
// the filter in total.
func (s *Users) List(ctx context.Context, f UserFilter) ([]User, int, error) {
	offset, limit, err := pageBounds(f.Offset, f.Limit)
	if err != nil {
		return nil, 0, err
	}
	like := likePrefix(CanonicalUserName(f.NamePrefix))
	contains := "%" + likePrefix(CanonicalUserName(f.NameContains))
	const where = ` FROM auth_users WHERE name LIKE ? ESCAPE '\' AND name LIKE ? ESCAPE '\'`
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*)`+where, like, contains).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("auth: count users: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+userColumns+where+`
		ORDER BY name LIMIT ? OFFSET ?`, like, contains, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("auth: list users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("auth: list users: %w", err)
	}
	return out, total, nil
}

// likePrefix escapes LIKE wildcards in prefix and appends '%'.
func likePrefix(prefix string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(prefix) + "%"
}
