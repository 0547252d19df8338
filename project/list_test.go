package project_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/sqldb"
)

func TestList(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		seed := []struct {
			name    string
			public  bool
			members []string
		}{
			{"library", true, nil},
			{"team-a", false, []string{"user:alice"}},
			{"team-b", false, []string{"group:devs"}},
			{"team_c", true, []string{"user:alice", "group:devs"}},
			{"teamxc", false, nil},
			{"other", false, []string{"user:bob"}},
		}
		for _, p := range seed {
			var ms []project.Member
			for _, sub := range p.members {
				ms = append(ms, project.Member{Subject: sub, Role: project.RoleGuest})
			}
			_, err := s.Create(ctx, project.Project{Name: p.name, Public: p.public}, ms...)
			require.NoError(t, err)
		}

		many := []string{"user:alice"}
		for i := range 600 { // past two IN-list buckets
			many = append(many, fmt.Sprintf("group:g%d", i))
		}
		tests := []struct {
			name  string
			f     project.Filter
			page  project.Page
			want  []string
			total int
		}{
			{"all", project.Filter{}, project.Page{}, []string{"library", "other", "team-a", "team-b", "team_c", "teamxc"}, 6},
			{"substring", project.Filter{Name: "eam"}, project.Page{}, []string{"team-a", "team-b", "team_c", "teamxc"}, 4},
			{"substring upper case", project.Filter{Name: "EAM-"}, project.Page{}, []string{"team-a", "team-b"}, 2},
			{"underscore is literal", project.Filter{Name: "m_c"}, project.Page{}, []string{"team_c"}, 1},
			{"percent is literal", project.Filter{Name: "%"}, project.Page{}, []string{}, 0},
			{"prefix", project.Filter{NamePrefix: "team-"}, project.Page{}, []string{"team-a", "team-b"}, 2},
			{"prefix and substring", project.Filter{NamePrefix: "te", Name: "am"}, project.Page{}, []string{"team-a", "team-b", "team_c", "teamxc"}, 4},
			{"public", project.Filter{Public: ptr(true)}, project.Page{}, []string{"library", "team_c"}, 2},
			{"private", project.Filter{Public: ptr(false)}, project.Page{}, []string{"other", "team-a", "team-b", "teamxc"}, 4},
			{"member of user", project.Filter{MemberOf: []string{"user:alice"}}, project.Page{}, []string{"team-a", "team_c"}, 2},
			{"member of user and group", project.Filter{MemberOf: []string{"user:alice", "group:devs"}}, project.Page{}, []string{"team-a", "team-b", "team_c"}, 3},
			{"member of many subjects", project.Filter{MemberOf: many}, project.Page{}, []string{"team-a", "team_c"}, 2},
			{"visible to alice", project.Filter{MemberOf: []string{"user:alice"}, IncludePublic: true}, project.Page{}, []string{"library", "team-a", "team_c"}, 3},
			{"visible to carol", project.Filter{MemberOf: []string{"user:carol"}, IncludePublic: true}, project.Page{}, []string{"library", "team_c"}, 2},
			{"member and private", project.Filter{MemberOf: []string{"user:alice"}, Public: ptr(false)}, project.Page{}, []string{"team-a"}, 1},
			{"page 1", project.Filter{}, project.Page{Limit: 4}, []string{"library", "other", "team-a", "team-b"}, 6},
			{"page 2", project.Filter{}, project.Page{Offset: 4, Limit: 4}, []string{"team_c", "teamxc"}, 6},
			{"past the end", project.Filter{}, project.Page{Offset: 10, Limit: 4}, []string{}, 6},
			{"filtered page", project.Filter{Name: "team"}, project.Page{Offset: 1, Limit: 2}, []string{"team-b", "team_c"}, 4},
			{"limit above max", project.Filter{}, project.Page{Limit: project.MaxPageSize + 1}, []string{"library", "other", "team-a", "team-b", "team_c", "teamxc"}, 6},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := s.List(ctx, tt.f, tt.page)
				require.NoError(t, err)
				names := []string{}
				for _, p := range got {
					names = append(names, p.Name)
				}
				assert.Equal(t, tt.want, names)
				assert.Equal(t, tt.total, total)
			})
		}

		_, _, err := s.List(ctx, project.Filter{}, project.Page{Offset: -1})
		assert.ErrorIs(t, err, project.ErrInvalid)
		_, _, err = s.List(ctx, project.Filter{MemberOf: make([]string, project.MaxSubjects+1)}, project.Page{})
		assert.ErrorIs(t, err, project.ErrInvalid)
	})
}
