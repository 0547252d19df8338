package audit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/sqldb"
)

// minutes maps entries to their fixture index (minutes after t0).
func minutes(es []audit.Entry) []int {
	out := make([]int, len(es))
	for i, e := range es {
		out[i] = int(e.Time.Sub(t0()) / time.Minute)
	}
	return out
}

func TestQueryFilters(t *testing.T) {
	at := func(m int) time.Time { return t0().Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name   string
		filter audit.Filter
		want   []int // fixture indexes, newest first
	}{
		{"none", audit.Filter{}, []int{7, 6, 5, 4, 3, 2, 1, 0}},
		{"actor", audit.Filter{Actor: "alice"}, []int{6, 5, 0}},
		{"anonymous actor", audit.Filter{Actor: "anonymous"}, []int{2}},
		{"kind robot", audit.Filter{ActorKind: audit.KindRobot}, []int{3}},
		{"kind system", audit.Filter{ActorKind: audit.KindSystem}, []int{7}},
		{"kind user", audit.Filter{ActorKind: audit.KindUser}, []int{6, 5, 4, 1, 0}},
		{"action", audit.Filter{Action: audit.ActionPull}, []int{2, 1}},
		{"resource type", audit.Filter{ResourceType: audit.ResourceArtifact}, []int{3, 2, 1, 0}},
		{"resource prefix", audit.Filter{Resource: "library/nginx"}, []int{6, 1, 0}},
		{"resource prefix is case-sensitive", audit.Filter{Resource: "LIBRARY/"}, []int{}},
		{"resource exact is case-sensitive", audit.Filter{Resource: "library/NGINX:1.25", ResourceExact: true}, []int{}},
		{"resource exact", audit.Filter{Resource: "library/nginx:1.25", ResourceExact: true}, []int{6}},
		{"project", audit.Filter{Project: "team"}, []int{7, 5, 3}},
		{"result", audit.Filter{Result: audit.ResultFailure}, []int{4}},
		{"from", audit.Filter{From: at(3)}, []int{7, 6, 5, 4, 3}},
		{"to", audit.Filter{To: at(2)}, []int{2, 1, 0}},
		{"from to", audit.Filter{From: at(2), To: at(4)}, []int{4, 3, 2}},
		{"actor and project", audit.Filter{Actor: "alice", Project: "library"}, []int{6, 0}},
		{"action and resource", audit.Filter{Action: audit.ActionPush, Resource: "team/"}, []int{3}},
		{"no match", audit.Filter{Actor: "nobody"}, []int{}},
	}
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		record(t, s, fixtures()...)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				es, total, err := s.Query(t.Context(), tt.filter, audit.Page{})
				require.NoError(t, err)
				assert.Equal(t, tt.want, minutes(es))
				assert.Equal(t, len(tt.want), total)
			})
		}
	})
}

func TestRecordRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		in := fixtures()[1]
		in.Time = time.Date(2024, 6, 1, 14, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
		record(t, s, in)
		es := all(t, s)
		require.Len(t, es, 1)
		want := in
		want.ID, want.Time, want.ActorKind, want.Result = es[0].ID, in.Time.UTC(), audit.KindUser, audit.ResultSuccess
		assert.Positive(t, es[0].ID)
		assert.Equal(t, want, es[0])
	})
}

func TestRecordDefaults(t *testing.T) {
	audit.OnEngines(t, testRecordDefaults)
}

func testRecordDefaults(t *testing.T, db *sqldb.DB) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := audit.NewStore(t.Context(), db, audit.WithClock(func() time.Time { return now }))
	require.NoError(t, err)

	long := strings.Repeat("é", 2000) // 4000 bytes
	record(t, s,
		audit.Entry{Action: audit.ActionPull, Resource: "a"},
		audit.Entry{Actor: "robot$ci", Action: audit.ActionPush, Resource: "b", Detail: long})
	es := all(t, s)
	require.Len(t, es, 2)
	robot, anon := es[0], es[1]
	assert.Equal(t, []string{"anonymous", audit.KindAnonymous, audit.ResultSuccess}, []string{anon.Actor, anon.ActorKind, anon.Result})
	assert.True(t, anon.Time.Equal(now))
	assert.Equal(t, audit.KindRobot, robot.ActorKind)
	assert.LessOrEqual(t, len(robot.Detail), 1024)
	assert.True(t, utf8.ValidString(robot.Detail))
	assert.True(t, strings.HasPrefix(long, robot.Detail))

	for name, bad := range map[string]audit.Entry{
		"no action":     {Actor: "alice"},
		"time too late": {Action: "x", Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		assert.Error(t, s.Record(t.Context(), bad), name)
	}
}

func TestQueryPagination(t *testing.T) {
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		const n = 45
		for i := range n {
			record(t, s, audit.Entry{Time: t0().Add(time.Duration(i) * time.Second), Actor: "alice",
				Action: audit.ActionPull, Resource: "r"})
		}
		var got []audit.Entry
		for _, tt := range []struct{ offset, limit, want int }{
			{0, 0, 20}, {20, 20, 20}, {40, 20, 5}, {45, 20, 0}, {100, 20, 0},
		} {
			es, total, err := s.Query(t.Context(), audit.Filter{}, audit.Page{Offset: tt.offset, Limit: tt.limit})
			require.NoError(t, err)
			assert.Equal(t, n, total)
			assert.Len(t, es, tt.want, "offset %d", tt.offset)
			assert.NotNil(t, es)
			got = append(got, es...)
		}
		require.Len(t, got, n)
		for i, e := range got {
			assert.True(t, e.Time.Equal(t0().Add(time.Duration(n-1-i)*time.Second)), "entry %d", i)
		}
		for _, p := range []audit.Page{{Offset: -1}, {Limit: -1}} {
			_, _, err := s.Query(t.Context(), audit.Filter{}, p)
			assert.Error(t, err)
		}
	})
}

func TestQueryMaxPageSize(t *testing.T) {
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		rec := audit.NewRecorder(s)
		for i := range audit.MaxPageSize + 10 {
			require.NoError(t, rec.Record(t.Context(), audit.Entry{Action: audit.ActionPull, Time: t0(),
				Resource: fmt.Sprintf("p/app:%d", i)}))
		}
		require.NoError(t, rec.Close(t.Context()))
		es, total, err := s.Query(t.Context(), audit.Filter{}, audit.Page{Limit: 10000})
		require.NoError(t, err)
		assert.Equal(t, audit.MaxPageSize+10, total)
		assert.Len(t, es, audit.MaxPageSize)
	})
}

func TestNewestFirstTiesByInsertion(t *testing.T) {
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		for _, r := range []string{"first", "second", "third"} {
			record(t, s, audit.Entry{Time: t0(), Action: audit.ActionPull, Resource: r})
		}
		record(t, s, audit.Entry{Time: t0().Add(-time.Hour), Action: audit.ActionPull, Resource: "older"})
		assert.Equal(t, []string{"third", "second", "first", "older"}, resources(all(t, s)))
	})
}

func TestResourcePrefixIsLiteral(t *testing.T) {
	names := []string{"lib_x/a", "libAx/a", "lib%/b", "libzz/c", `lib\x/d`, "lib_x2", "other/lib"}
	tests := []struct {
		prefix string
		exact  bool
		want   []string // newest first
	}{
		{"lib_", false, []string{"lib_x2", "lib_x/a"}},
		{"lib%", false, []string{"lib%/b"}},
		{`lib\`, false, []string{`lib\x/d`}},
		{"lib_x/", false, []string{"lib_x/a"}},
		{"%", false, nil},
		{"_", false, nil},
		{`\`, false, nil},
		{"lib", false, []string{"lib_x2", `lib\x/d`, "libzz/c", "lib%/b", "libAx/a", "lib_x/a"}},
		{"lib_x/a", true, []string{"lib_x/a"}},
		{"lib%/b", true, []string{"lib%/b"}},
		{"lib%", true, nil},
		{"lib_x_a", true, nil},
	}
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		for i, n := range names {
			record(t, s, audit.Entry{Time: t0().Add(time.Duration(i) * time.Second), Action: audit.ActionPush, Resource: n})
		}
		for _, tt := range tests {
			es, total, err := s.Query(t.Context(), audit.Filter{Resource: tt.prefix, ResourceExact: tt.exact}, audit.Page{})
			require.NoError(t, err)
			assert.Equal(t, len(tt.want), total, "prefix %q", tt.prefix)
			if tt.want == nil {
				tt.want = []string{}
			}
			assert.Equal(t, tt.want, resources(es), "prefix %q", tt.prefix)
		}
	})
}

func TestPurge(t *testing.T) {
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		record(t, s, fixtures()...)
		n, err := s.Purge(t.Context(), t0().Add(3*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, int64(3), n)
		assert.Equal(t, []int{7, 6, 5, 4, 3}, minutes(all(t, s)))
		n, err = s.Purge(t.Context(), t0().Add(3*time.Minute))
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

func TestPurgeManyChunks(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *sqldb.DB, s *audit.Store) {
		const old = 5050 // two purge transactions
		require.NoError(t, db.Write(t.Context(), func(tx *sqldb.Tx) error {
			_, err := tx.Exec(t.Context(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				INSERT INTO audit_log (op_time, actor, actor_kind, action, resource_type, resource, project, result)
				SELECT ?, 'alice', 'user', 'pull', 'artifact', 'r', 'p', 'success' FROM n`,
				old, t0().Add(-time.Hour).UnixNano())
			return err
		}))
		record(t, s, fixtures()...)
		n, err := s.Purge(t.Context(), t0())
		require.NoError(t, err)
		assert.Equal(t, int64(old), n)
		assert.Equal(t, []int{7, 6, 5, 4, 3, 2, 1, 0}, minutes(all(t, s)))
	})
}

func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.db")
	open := func() (*sqldb.DB, *audit.Store) {
		db, err := sqldb.OpenSQLite(t.Context(), path)
		require.NoError(t, err)
		s, err := audit.NewStore(t.Context(), db) // migrations apply once
		require.NoError(t, err)
		return db, s
	}
	db, s := open()
	record(t, s, fixtures()...)
	require.NoError(t, db.Close())

	db, s = open()
	defer db.Close()
	assert.Equal(t, []int{7, 6, 5, 4, 3, 2, 1, 0}, minutes(all(t, s)))
}

func TestNewStoreNeedsDB(t *testing.T) {
	_, err := audit.NewStore(t.Context(), nil)
	assert.Error(t, err)
}

// projectIDs is a project store's name -> id lookup, as of now.
type projectIDs map[string]int64

func (p projectIDs) ProjectID(_ context.Context, name string) (int64, bool, error) {
	id, ok := p[name]
	return id, ok, nil
}

// A project's log is read by its id: a project created again under a
// deleted one's name does not show the old history, which stays in the
// system-wide log.
func TestProjectLogFollowsProjectID(t *testing.T) { audit.OnEngines(t, testProjectLogFollowsProjectID) }

func testProjectLogFollowsProjectID(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	ids := projectIDs{"team": 1}
	s, err := audit.NewStore(ctx, db, audit.WithProjects(ids))
	require.NoError(t, err)
	rec := audit.NewRecorder(s)
	require.NoError(t, rec.Record(ctx, audit.Entry{Actor: "alice", Action: audit.ActionPush, Project: "team", Resource: "team/app:1"}))
	require.NoError(t, rec.Close(ctx))
	require.NoError(t, s.Record(ctx, audit.Entry{Actor: "alice", Action: audit.ActionProjectDelete, Project: "team", ProjectID: 1}))
	ids["team"] = 2 // deleted and created again
	require.NoError(t, s.Record(ctx, audit.Entry{Actor: "mallory", Action: audit.ActionPush, Project: "team", Resource: "team/x:1"}))

	old, n, err := s.Query(ctx, audit.Filter{ProjectID: 1}, audit.Page{})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, "team/app:1", old[1].Resource)
	cur, n, err := s.Query(ctx, audit.Filter{ProjectID: 2}, audit.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	assert.Equal(t, "mallory", cur[0].Actor)
	assert.Equal(t, int64(2), cur[0].ProjectID)
	_, n, err = s.Query(ctx, audit.Filter{Project: "team"}, audit.Page{})
	require.NoError(t, err)
	assert.Equal(t, 3, n, "by name, the system-wide log has all of it")
}

// A failed login's claimed name is kept as a claim beside an anonymous
// actor.
func TestAttemptedUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		ctx := t.Context()
		require.NoError(t, s.Record(ctx, audit.Entry{Action: audit.ActionLoginFailure, AttemptedUser: "admin", Result: audit.ResultFailure}))
		es, _, err := s.Query(ctx, audit.Filter{}, audit.Page{})
		require.NoError(t, err)
		require.Len(t, es, 1)
		assert.Equal(t, "anonymous", es[0].Actor)
		assert.Equal(t, audit.KindAnonymous, es[0].ActorKind)
		assert.Equal(t, "admin", es[0].AttemptedUser)
	})
}
