package project

import (
	"context"
	"fmt"
)

// GetMember returns the grant numbered id in project, or ErrNotFound (also
// when the number belongs to another project's grant).
func (s *Store) GetMember(ctx context.Context, project string, id int64) (Member, error) {
	m, err := scanMember(s.db.QueryRow(ctx, `SELECT `+memberCols+memberFrom+` WHERE p.name = ? AND m.id = ?`, project, id))
	return m, notFound(fmt.Sprintf("member %d of project %q", id, project), err)
}

// RoleCounts returns how many subjects hold each role on the whole of
// project (grants limited to some repositories are not counted). A
// project that does not exist is ErrNotFound.
func (s *Store) RoleCounts(ctx context.Context, project string) (map[string]int, error) {
	p, err := s.Get(ctx, project)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT role, COUNT(*) FROM project_members
		WHERE project_id = ? AND repositories = '' GROUP BY role`, p.ID)
	if err != nil {
		return nil, fmt.Errorf("counting members: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var role string
		var n int
		if err := rows.Scan(&role, &n); err != nil {
			return nil, err
		}
		out[role] = n
	}
	return out, rows.Err()
}
