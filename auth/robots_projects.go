package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/berthlabs/berth/sqldb"
)

// Projects resolves a project name to its immutable id; ok is false when
// there is no such project. *project.Store implements it.
type Projects interface {
	ProjectID(ctx context.Context, name string) (id int64, ok bool, err error)
}

// WithProjects makes the robot store key robots and their permissions by
// the id of the project they name, besides its name, and refuse
// permissions in projects that do not exist. An RBAC policy built from
// robots (see api.PolicyLoader) honours a permission only while its
// project still has that id, so a robot never acts in a project created
// later under a deleted one's name.
func WithProjects(p Projects) StoreOption {
	return func(c *storeConfig) { c.projects = p }
}

// resolveProjects fills in the project ids of a robot to store: its own
// project's and each permission's (AllProjects has none). Without
// WithProjects ids stay zero.
func (s *Robots) resolveProjects(ctx context.Context, r *Robot) error {
	if s.cfg.projects == nil {
		return nil
	}
	ids := map[string]int64{}
	resolve := func(name string) (int64, error) {
		if id, ok := ids[name]; ok {
			return id, nil
		}
		id, ok, err := s.cfg.projects.ProjectID(ctx, name)
		if err != nil {
			return 0, fmt.Errorf("auth: project %q: %w", name, err)
		}
		if !ok {
			return 0, fmt.Errorf("%w: project %q does not exist", ErrInvalid, name)
		}
		ids[name] = id
		return id, nil
	}
	if r.Project != "" {
		id, err := resolve(r.Project)
		if err != nil {
			return err
		}
		r.ProjectID = id
	}
	for i := range r.Permissions {
		p := &r.Permissions[i]
		if p.Project == AllProjects {
			p.ProjectID = 0
			continue
		}
		id, err := resolve(p.Project)
		if err != nil {
			return err
		}
		p.ProjectID = id
	}
	return nil
}

// ForgetProject removes, inside tx (the transaction deleting the
// project), what robots hold in the project with id, named name: its
// project robots, and its permissions in system robots. Robots stored
// before project ids (id 0) are matched by the name. It returns the names
// of the robots removed.
func (s *Robots) ForgetProject(ctx context.Context, tx *sqldb.Tx, id int64, name string) ([]string, error) {
	rows, err := tx.Query(ctx, `DELETE FROM auth_robots WHERE level = 'project'
		AND (project_id = ? OR (project_id = 0 AND project = ?)) RETURNING name`, id, name)
	if err != nil {
		return nil, dbErr("forget project robots", err)
	}
	var removed []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		removed = append(removed, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// System robots: drop the project's permissions. A full read of the
	// system robots, which are few (project robots are the common kind),
	// locked in name order as Update locks one: their permissions are
	// written back whole.
	rows, err = tx.Query(ctx, `SELECT name, permissions FROM auth_robots WHERE level = 'system' ORDER BY name`+tx.ForUpdate())
	if err != nil {
		return nil, dbErr("forget project permissions", err)
	}
	updates := map[string]string{}
	for rows.Next() {
		var n, perms string
		if err := rows.Scan(&n, &perms); err != nil {
			rows.Close()
			return nil, err
		}
		var ps []RobotPermission
		if err := json.Unmarshal([]byte(perms), &ps); err != nil {
			rows.Close()
			return nil, fmt.Errorf("auth: robot %q permissions: %w", n, err)
		}
		kept := slices.DeleteFunc(slices.Clone(ps), func(p RobotPermission) bool {
			return p.ProjectID == id || (p.ProjectID == 0 && p.Project == name)
		})
		if len(kept) != len(ps) {
			b, err := json.Marshal(kept)
			if err != nil {
				rows.Close()
				return nil, err
			}
			updates[n] = string(b)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for n, perms := range updates {
		if _, err := tx.Exec(ctx, `UPDATE auth_robots SET permissions = ? WHERE name = ?`, perms, n); err != nil {
			return nil, dbErr("forget project permissions", err)
		}
	}
	return removed, nil
}
