package project_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/sqldb"
)

func TestMemberLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		_, err := s.Create(ctx, project.Project{Name: "app"})
		require.NoError(t, err)

		added, err := s.AddMember(ctx, project.Member{Project: "app", Subject: "user:alice", Role: project.RoleDeveloper})
		require.NoError(t, err)
		assert.Equal(t, added.CreatedAt, added.UpdatedAt)
		// A repository-level grant is a separate row for the same subject.
		_, err = s.AddMember(ctx, project.Member{Project: "app", Subject: "user:alice", Role: project.RoleMaintainer, Repositories: "app/api-*"})
		require.NoError(t, err)
		_, err = s.AddMember(ctx, project.Member{Project: "app", Subject: "group:devs", Role: project.RoleDeveloper, Repositories: "app/team/**"})
		require.NoError(t, err)
		require.NoError(t, s.RemoveMember(ctx, "app", "group:devs", "app/team/**"))

		_, err = s.AddMember(ctx, project.Member{Project: "app", Subject: "user:alice", Role: project.RoleGuest})
		assert.ErrorIs(t, err, project.ErrExists)
		assert.EqualError(t, err, `member user:alice of project "app": already exists`)

		updated, err := s.UpdateMember(ctx, project.Member{Project: "app", Subject: "user:alice", Role: project.RoleProjectAdmin})
		require.NoError(t, err)
		assert.Equal(t, added.CreatedAt, updated.CreatedAt)
		assert.True(t, updated.UpdatedAt.After(added.UpdatedAt))

		members, total, err := s.ListMembers(ctx, "app", project.MemberFilter{}, project.Page{})
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		assert.Equal(t, []project.Member{updated, {
			ID: members[1].ID, Project: "app", Subject: "user:alice", Role: project.RoleMaintainer, Repositories: "app/api-*",
			CreatedAt: members[1].CreatedAt, UpdatedAt: members[1].UpdatedAt,
		}}, members)

		require.NoError(t, s.RemoveMember(ctx, "app", "user:alice", ""))
		assert.ErrorIs(t, s.RemoveMember(ctx, "app", "user:alice", ""), project.ErrNotFound)
		_, err = s.UpdateMember(ctx, project.Member{Project: "app", Subject: "user:alice", Role: project.RoleGuest})
		assert.ErrorIs(t, err, project.ErrNotFound)
		members, total, err = s.ListMembers(ctx, "app", project.MemberFilter{}, project.Page{})
		require.NoError(t, err)
		assert.Equal(t, 1, total)
		assert.Equal(t, "app/api-*", members[0].Repositories)
	})
}

func TestAddMemberInvalid(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(t, db)
		_, err := s.Create(t.Context(), project.Project{Name: "app"})
		require.NoError(t, err)
		tests := []struct {
			name string
			m    project.Member
			want error
			msg  string
		}{
			{"unknown role", project.Member{Project: "app", Subject: "user:a", Role: "owner"}, project.ErrInvalid, `unknown role "owner"`},
			{"empty role", project.Member{Project: "app", Subject: "user:a"}, project.ErrInvalid, `unknown role ""`},
			{"robot", project.Member{Project: "app", Subject: "robot:ci", Role: project.RoleGuest}, project.ErrInvalid, `"user:<name>" or "group:<name>"`},
			{"no kind", project.Member{Project: "app", Subject: "alice", Role: project.RoleGuest}, project.ErrInvalid, "must be"},
			{"empty name", project.Member{Project: "app", Subject: "user:", Role: project.RoleGuest}, project.ErrInvalid, "name is empty"},
			{"spaces", project.Member{Project: "app", Subject: "user: a", Role: project.RoleGuest}, project.ErrInvalid, "surrounding spaces"},
			{"control", project.Member{Project: "app", Subject: "user:a\x00b", Role: project.RoleGuest}, project.ErrInvalid, "unprintable"},
			{"long", project.Member{Project: "app", Subject: "group:" + strings.Repeat("x", project.MaxSubjectLength), Role: project.RoleGuest}, project.ErrInvalid, "the limit is"},
			{"glob of other project", project.Member{Project: "app", Subject: "user:a", Role: project.RoleGuest, Repositories: "other/*"}, project.ErrInvalid, `must start with "app/"`},
			{"glob of project prefix", project.Member{Project: "app", Subject: "user:a", Role: project.RoleGuest, Repositories: "ap*/x"}, project.ErrInvalid, `must start with "app/"`},
			{"glob of project itself", project.Member{Project: "app", Subject: "user:a", Role: project.RoleGuest, Repositories: "app"}, project.ErrInvalid, "must start with"},
			{"empty segment", project.Member{Project: "app", Subject: "user:a", Role: project.RoleGuest, Repositories: "app/"}, project.ErrInvalid, "empty"},
			{"dot-dot segment", project.Member{Project: "app", Subject: "user:a", Role: project.RoleGuest, Repositories: "app/../other/*"}, project.ErrInvalid, `".."`},
			{"comma", project.Member{Project: "app", Subject: "user:a", Role: project.RoleGuest, Repositories: "app/{a,b}"}, project.ErrInvalid, "commas"},
			{"malformed glob", project.Member{Project: "app", Subject: "user:a", Role: project.RoleGuest, Repositories: "app/[a-"}, project.ErrInvalid, `malformed pattern segment "[a-"`},
			{"glob with space", project.Member{Project: "app", Subject: "user:a", Role: project.RoleGuest, Repositories: "app/a b"}, project.ErrInvalid, "spaces"},
			{"bad project name", project.Member{Project: "App", Subject: "user:a", Role: project.RoleGuest}, project.ErrInvalid, "upper-case"},
			{"no project", project.Member{Project: "missing", Subject: "user:a", Role: project.RoleGuest}, project.ErrNotFound, `project "missing": not found`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.AddMember(t.Context(), tt.m)
				assert.ErrorIs(t, err, tt.want)
				assert.ErrorContains(t, err, tt.msg)
			})
		}
		_, err = s.Create(t.Context(), project.Project{Name: "two"},
			project.Member{Subject: "user:a", Role: project.RoleGuest},
			project.Member{Subject: "user:a", Role: project.RoleDeveloper})
		assert.ErrorIs(t, err, project.ErrExists, "duplicate initial members")
		_, err = s.Create(t.Context(), project.Project{Name: "three"}, project.Member{Subject: "user:a", Role: "boss"})
		assert.ErrorIs(t, err, project.ErrInvalid)
		_, err = s.Create(t.Context(), project.Project{Name: "four"}, project.Member{Project: "app", Subject: "user:a", Role: project.RoleGuest})
		assert.ErrorIs(t, err, project.ErrInvalid)
		for _, name := range []string{"two", "three", "four"} {
			ok, err := s.Exists(t.Context(), name)
			require.NoError(t, err)
			assert.False(t, ok, "a refused Create leaves nothing behind")
		}
	})
}

func TestCustomRoleValidator(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	defer db.Close()
	s := newStore(t, db, project.WithRoleValidator(func(role string) error {
		if role == "auditor" || project.DefaultRoleValidator(role) == nil {
			return nil
		}
		return fmt.Errorf("no role %q", role)
	}))
	_, err = s.Create(t.Context(), project.Project{Name: "app"}, project.Member{Subject: "user:a", Role: "auditor"})
	require.NoError(t, err)
	_, err = s.AddMember(t.Context(), project.Member{Project: "app", Subject: "user:b", Role: "boss"})
	assert.ErrorIs(t, err, project.ErrInvalid)
	assert.ErrorContains(t, err, `no role "boss"`)
}

func TestListMembers(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		_, err := s.Create(ctx, project.Project{Name: "app"},
			project.Member{Subject: "user:alice", Role: project.RoleProjectAdmin},
			project.Member{Subject: "user:al_x", Role: project.RoleGuest},
			project.Member{Subject: "user:bob", Role: project.RoleGuest},
			project.Member{Subject: "group:devs", Role: project.RoleDeveloper},
			project.Member{Subject: "group:cn=ops,ou=groups,dc=example", Role: project.RoleMaintainer})
		require.NoError(t, err)
		subjects := func(ms []project.Member) []string {
			out := []string{}
			for _, m := range ms {
				out = append(out, m.Subject)
			}
			return out
		}
		tests := []struct {
			name  string
			f     project.MemberFilter
			page  project.Page
			want  []string
			total int
		}{
			{"all", project.MemberFilter{}, project.Page{}, []string{"group:cn=ops,ou=groups,dc=example", "group:devs", "user:al_x", "user:alice", "user:bob"}, 5},
			{"groups", project.MemberFilter{SubjectPrefix: "group:"}, project.Page{}, []string{"group:cn=ops,ou=groups,dc=example", "group:devs"}, 2},
			{"prefix", project.MemberFilter{SubjectPrefix: "user:al"}, project.Page{}, []string{"user:al_x", "user:alice"}, 2},
			{"underscore literal", project.MemberFilter{SubjectPrefix: "user:al_"}, project.Page{}, []string{"user:al_x"}, 1},
			{"prefix ignores ASCII case", project.MemberFilter{SubjectPrefix: "USER:Al"}, project.Page{}, []string{"user:al_x", "user:alice"}, 2},
			{"page", project.MemberFilter{}, project.Page{Offset: 1, Limit: 2}, []string{"group:devs", "user:al_x"}, 5},
			{"filtered page", project.MemberFilter{SubjectPrefix: "user:"}, project.Page{Offset: 2, Limit: 2}, []string{"user:bob"}, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ms, total, err := s.ListMembers(ctx, "app", tt.f, tt.page)
				require.NoError(t, err)
				assert.Equal(t, tt.want, subjects(ms))
				assert.Equal(t, tt.total, total)
			})
		}
		_, _, err = s.ListMembers(ctx, "missing", project.MemberFilter{}, project.Page{})
		assert.ErrorIs(t, err, project.ErrNotFound)

		_, err = s.AddMember(ctx, project.Member{Project: "app", Subject: "user:Élodie", Role: project.RoleGuest})
		require.NoError(t, err)
		ms, _, err := s.ListMembers(ctx, "app", project.MemberFilter{SubjectPrefix: "user:Él"}, project.Page{})
		require.NoError(t, err)
		assert.Equal(t, []string{"user:Élodie"}, subjects(ms), "a prefix with other letters matches as written")
	})
}

func TestMembershipsOf(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		_, err := s.Create(ctx, project.Project{Name: "a"},
			project.Member{Subject: "user:alice", Role: project.RoleGuest},
			project.Member{Subject: "group:devs", Role: project.RoleDeveloper},
			project.Member{Subject: "group:devs", Role: project.RoleMaintainer, Repositories: "a/svc-*"})
		require.NoError(t, err)
		_, err = s.Create(ctx, project.Project{Name: "b"},
			project.Member{Subject: "group:ops", Role: project.RoleProjectAdmin},
			project.Member{Subject: "user:bob", Role: project.RoleGuest})
		require.NoError(t, err)
		_, err = s.Create(ctx, project.Project{Name: "c"}, project.Member{Subject: "user:bob", Role: project.RoleGuest})
		require.NoError(t, err)

		type grant struct{ project, subject, repos, role string }
		grants := func(ms []project.Member) []grant {
			out := []grant{}
			for _, m := range ms {
				out = append(out, grant{m.Project, m.Subject, m.Repositories, m.Role})
			}
			return out
		}
		// Alice and her groups, with more groups than one query takes and
		// a duplicate.
		subjects := []string{"user:alice", "group:devs", "group:ops", "group:devs"}
		for i := range 1100 {
			subjects = append(subjects, fmt.Sprintf("group:unrelated-%d", i))
		}
		ms, err := s.MembershipsOf(ctx, subjects)
		require.NoError(t, err)
		assert.Equal(t, []grant{
			{"a", "group:devs", "", project.RoleDeveloper},
			{"a", "group:devs", "a/svc-*", project.RoleMaintainer},
			{"a", "user:alice", "", project.RoleGuest},
			{"b", "group:ops", "", project.RoleProjectAdmin},
		}, grants(ms))

		ms, err = s.MembershipsOf(ctx, []string{"user:nobody"})
		require.NoError(t, err)
		assert.Empty(t, ms)
		ms, err = s.MembershipsOf(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, ms)
	})
}

func TestAllMembers(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		want := 0
		for p := range 3 {
			var ms []project.Member
			for i := range 450 { // 1350 rows: several pages, one partial
				ms = append(ms, project.Member{Subject: fmt.Sprintf("user:u%03d", i), Role: project.RoleGuest})
			}
			_, err := s.Create(ctx, project.Project{Name: fmt.Sprintf("p%d", p)}, ms...)
			require.NoError(t, err)
			want += len(ms)
		}
		var got []project.Member
		for m, err := range s.AllMembers(ctx) {
			require.NoError(t, err)
			got = append(got, m)
		}
		require.Len(t, got, want)
		seen := map[string]bool{}
		for i, m := range got {
			key := m.Project + " " + m.Subject
			assert.False(t, seen[key], "duplicate %s", key)
			seen[key] = true
			if i > 0 {
				prev := got[i-1]
				assert.Less(t, prev.Project+" "+prev.Subject, key, "ordered")
			}
		}

		// Stopping early, and writing through the Store inside the loop
		// (the iterator holds no connection between pages).
		n := 0
		for m, err := range s.AllMembers(ctx) {
			require.NoError(t, err)
			_, err := s.UpdateMember(ctx, project.Member{Project: m.Project, Subject: m.Subject, Role: project.RoleDeveloper})
			require.NoError(t, err)
			if n++; n == 3 {
				break
			}
		}
		assert.Equal(t, 3, n)
	})
}
