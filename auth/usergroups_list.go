package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// UserGroupFilter selects user groups; zero fields match every group.
type UserGroupFilter struct {
	Type GroupType // 0 for every type
	// NameContains keeps names containing it (ASCII letters match in
	// either case, as Harbor's fuzzy group_name match).
	NameContains string
	LDAPDN       string // the exact DN, as stored
	core.Page           // Limit 0 for DefaultPageSize; at most MaxPageSize
}

func (f UserGroupFilter) where(dialect sqldb.Dialect) (string, []any) {
	var conds []string
	var args []any
	if f.Type != 0 {
		conds, args = append(conds, "group_type = ?"), append(args, f.Type)
	}
	if f.LDAPDN != "" {
		conds, args = append(conds, "ldap_dn = ?"), append(args, f.LDAPDN)
	}
	if f.NameContains != "" {
		// SQLite's LIKE ignores the case of ASCII letters only;
		// PostgreSQL's ignores none: there the name's ASCII letters are
		// folded as the pattern's are.
		name := "name"
		if dialect == sqldb.Postgres {
			name = "translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
		}
		conds = append(conds, name+` LIKE ? ESCAPE '\'`)
		args = append(args, "%"+strings.TrimSuffix(likePrefix(lowerASCII(f.NameContains)), "%")+"%")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// List returns a page of the groups f selects, by id, and how many it
// selects in all.
func (s *UserGroups) List(ctx context.Context, f UserGroupFilter) ([]UserGroup, int, error) {
	offset, limit, err := pageBounds(f.Offset, f.Limit)
	if err != nil {
		return nil, 0, err
	}
	where, args := f.where(s.db.Dialect())
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM auth_usergroups`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("auth: count user groups: %w", err)
	}
	out := []UserGroup{}
	if total <= offset {
		return out, total, nil
	}
	rows, err := s.db.Query(ctx, `SELECT `+groupColumns+` FROM auth_usergroups`+where+` ORDER BY id LIMIT ? OFFSET ?`,
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("auth: list user groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("auth: list user groups: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("auth: list user groups: %w", err)
	}
	return out, total, nil
}
