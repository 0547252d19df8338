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
	// Names keeps these names only (nil: any; at most 100).
	Names []string
	// EmailContains keeps the users whose email contains it ("" for all).
	EmailContains string
	Order         UserOrder
	Desc          bool // reverse Order
	// Page: Limit 0 for DefaultPageSize; at most MaxPageSize.
	core.Page
}

// UserOrder is the order of a user listing; ties are broken by name.
type UserOrder int

// User orders.
const (
	UsersByName    UserOrder = iota // the default
	UsersByEmail                    // by email
	UsersByCreated                  // oldest first
	UsersByUpdated                  // least recently changed first
	UsersByID                       // by ID
)

// userOrderColumns are the columns of the user orders.
var userOrderColumns = map[UserOrder]string{UsersByName: "name", UsersByEmail: "email",
	UsersByCreated: "created_at", UsersByUpdated: "updated_at", UsersByID: "id"}

// maxFilterNames bounds UserFilter.Names.
const maxFilterNames = 100

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

// List returns a page of users in f's order (by name unless told), and how many users match
// the filter in total.
func (s *Users) List(ctx context.Context, f UserFilter) ([]User, int, error) {
	offset, limit, err := pageBounds(f.Offset, f.Limit)
	if err != nil {
		return nil, 0, err
	}
	col, ok := userOrderColumns[f.Order]
	if !ok || len(f.Names) > maxFilterNames {
		return nil, 0, fmt.Errorf("%w: unknown order or too many names", ErrInvalid)
	}
	where := ` FROM auth_users WHERE name LIKE ? ESCAPE '\' AND name LIKE ? ESCAPE '\' AND LOWER(email) LIKE ? ESCAPE '\'`
	args := []any{likePrefix(CanonicalUserName(f.NamePrefix)), "%" + likePrefix(CanonicalUserName(f.NameContains)),
		"%" + likePrefix(strings.ToLower(f.EmailContains))}
	if f.Names != nil {
		if len(f.Names) == 0 {
			return []User{}, 0, nil
		}
		where += " AND name IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(f.Names)), ", ") + ")"
		for _, n := range f.Names {
			args = append(args, CanonicalUserName(n))
		}
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("auth: count users: %w", err)
	}
	dir := " ASC"
	if f.Desc {
		dir = " DESC"
	}
	rows, err := s.db.Query(ctx, `SELECT `+userColumns+where+`
		ORDER BY `+col+dir+`, name`+dir+` LIMIT ? OFFSET ?`, append(args, limit, offset)...)
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
