package project_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// recorder is a change hook that also proves each change was committed
// before the hook ran: it reads the change back through the Store (on the
// in-memory database, whose one connection a transaction holds, that read
// would block if the hook ran inside the transaction).
type recorder struct {
	mu      sync.Mutex
	store   *project.Store
	changes []project.Change
	visible []bool
}

func (r *recorder) hook(ctx context.Context, c project.Change) {
	// Inside the transaction the read would block: fail instead of hanging.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var seen bool
	switch c.Kind {
	case project.ProjectCreated, project.ProjectUpdated:
		seen, _ = r.store.Exists(ctx, c.Project)
	case project.ProjectDeleted:
		ok, _ := r.store.Exists(ctx, c.Project)
		seen = !ok
	default:
		ms, _ := r.store.MembershipsOf(ctx, []string{c.Subject})
		found := false
		for _, m := range ms {
			found = found || m.Project == c.Project && m.Repositories == c.Repositories && m.Role == c.Role
		}
		seen = found == (c.Kind != project.MemberRemoved)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c.Time = c.Time.UTC()
	r.changes = append(r.changes, c)
	r.visible = append(r.visible, seen)
}

func (r *recorder) take() ([]project.Change, []bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, v := r.changes, r.visible
	r.changes, r.visible = nil, nil
	return c, v
}

func TestChangeHooks(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		rec := &recorder{}
		var second []project.ChangeKind
		s := newStore(t, db,
			project.WithChangeHook(rec.hook),
			project.WithChangeHook(func(_ context.Context, c project.Change) { second = append(second, c.Kind) }),
			project.WithRepositoryCounter(func(_ context.Context, p string) (int, error) {
				if p == "busy" {
					return 1, nil
				}
				return 0, nil
			}))
		rec.store = s
		ctx := registry.WithActor(t.Context(), "admin")

		type step struct {
			name string
			op   func() error
			want []project.Change // nil: no change may fire
		}
		member := func(kind project.ChangeKind, subject, repos, role string) project.Change {
			return project.Change{Kind: kind, Project: "app", Subject: subject, Repositories: repos, Role: role, Actor: "admin"}
		}
		steps := []step{
			{"create with owner", func() error {
				_, err := s.Create(ctx, project.Project{Name: "app"}, project.Member{Subject: "user:alice", Role: project.RoleProjectAdmin})
				return err
			}, []project.Change{
				{Kind: project.ProjectCreated, Project: "app", Actor: "admin"},
				member(project.MemberAdded, "user:alice", "", project.RoleProjectAdmin),
			}},
			{"duplicate create", func() error { _, err := s.Create(ctx, project.Project{Name: "app"}); return err }, nil},
			{"invalid create", func() error { _, err := s.Create(ctx, project.Project{Name: "A"}); return err }, nil},
			{"update", func() error {
				_, err := s.Update(ctx, "app", func(p *project.Project) error { p.Public = true; return nil })
				return err
			}, []project.Change{{Kind: project.ProjectUpdated, Project: "app", Actor: "admin"}}},
			{"aborted update", func() error {
				_, err := s.Update(ctx, "app", func(*project.Project) error { return errBoom })
				return err
			}, nil},
			{"update of missing", func() error {
				_, err := s.Update(ctx, "nope", func(*project.Project) error { return nil })
				return err
			}, nil},
			{"add member", func() error {
				_, err := s.AddMember(ctx, project.Member{Project: "app", Subject: "group:devs", Role: project.RoleDeveloper, Repositories: "app/x*"})
				return err
			}, []project.Change{member(project.MemberAdded, "group:devs", "app/x*", project.RoleDeveloper)}},
			{"duplicate member", func() error {
				_, err := s.AddMember(ctx, project.Member{Project: "app", Subject: "group:devs", Role: project.RoleGuest, Repositories: "app/x*"})
				return err
			}, nil},
			{"invalid role", func() error {
				_, err := s.AddMember(ctx, project.Member{Project: "app", Subject: "user:bob", Role: "boss"})
				return err
			}, nil},
			{"update member", func() error {
				_, err := s.UpdateMember(ctx, project.Member{Project: "app", Subject: "group:devs", Role: project.RoleMaintainer, Repositories: "app/x*"})
				return err
			}, []project.Change{member(project.MemberUpdated, "group:devs", "app/x*", project.RoleMaintainer)}},
			{"update missing member", func() error {
				_, err := s.UpdateMember(ctx, project.Member{Project: "app", Subject: "user:bob", Role: project.RoleGuest})
				return err
			}, nil},
			{"remove member", func() error { return s.RemoveMember(ctx, "app", "group:devs", "app/x*") },
				[]project.Change{member(project.MemberRemoved, "group:devs", "app/x*", project.RoleMaintainer)}},
			{"remove missing member", func() error { return s.RemoveMember(ctx, "app", "group:devs", "app/x*") }, nil},
			{"refused delete", func() error {
				if _, err := s.Create(t.Context(), project.Project{Name: "busy"}); err != nil {
					return err
				}
				rec.take()
				second = nil
				return s.Delete(ctx, "busy")
			}, nil},
			{"delete", func() error { return s.Delete(ctx, "app") },
				[]project.Change{{Kind: project.ProjectDeleted, Project: "app", Actor: "admin"}}},
		}
		for _, st := range steps {
			err := st.op()
			got, visible := rec.take()
			for i := range got {
				assert.False(t, got[i].Time.IsZero(), st.name)
				assert.NotZero(t, got[i].ProjectID, "%s: every change names the project's id", st.name)
				got[i].Time, got[i].ProjectID = epoch, 0 // compare the rest
			}
			for i := range st.want {
				st.want[i].Time = epoch
			}
			if st.want == nil {
				assert.Error(t, err, st.name)
				assert.Empty(t, got, "%s: no change for a failed operation", st.name)
				assert.Empty(t, second, st.name)
				continue
			}
			require.NoError(t, err, st.name)
			assert.Equal(t, st.want, got, st.name)
			for i, v := range visible {
				assert.True(t, v, "%s: change %d fired before its commit", st.name, i)
			}
			kinds := []project.ChangeKind{}
			for _, c := range st.want {
				kinds = append(kinds, c.Kind)
			}
			assert.Equal(t, kinds, second, "%s: every hook, in order", st.name)
			second = nil
		}
	})
}
