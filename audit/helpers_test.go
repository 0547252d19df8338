package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/sqldb"
)

// eachBackend runs fn as a subtest on every engine (audit.Engines) with
// a fresh store.
func eachBackend(t *testing.T, fn func(t *testing.T, db *sqldb.DB, s *audit.Store)) {
	t.Helper()
	audit.OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		s, err := audit.NewStore(t.Context(), db)
		require.NoError(t, err)
		fn(t, db, s)
	})
}

// t0 is the base time of fixtures.
func t0() time.Time { return time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC) }

// fixtures are entries one minute apart, oldest first.
func fixtures() []audit.Entry {
	es := []audit.Entry{
		{Actor: "alice", Action: audit.ActionPush, ResourceType: audit.ResourceArtifact, Resource: "library/nginx:1.25@sha256:aa", Project: "library"},
		{Actor: "bob", Action: audit.ActionPull, ResourceType: audit.ResourceArtifact, Resource: "library/nginx:1.25@sha256:aa", Project: "library", RemoteAddr: "10.0.0.2:5000", UserAgent: "docker/27"},
		{Actor: "", Action: audit.ActionPull, ResourceType: audit.ResourceArtifact, Resource: "library/redis@sha256:bb", Project: "library"},
		{Actor: "robot$ci", Action: audit.ActionPush, ResourceType: audit.ResourceArtifact, Resource: "team/app:v1@sha256:cc", Project: "team"},
		{Actor: "mallory", Action: audit.ActionLoginFailure, ResourceType: audit.ResourceSession, Resource: "mallory", Result: audit.ResultFailure, Detail: "wrong password"},
		{Actor: "alice", Action: audit.ActionMemberAdd, ResourceType: audit.ResourceMember, Resource: "team/bob", Project: "team", Detail: "role developer"},
		{Actor: "alice", Action: audit.ActionDelete, ResourceType: audit.ResourceTag, Resource: "library/nginx:1.25", Project: "library"},
		{Actor: "admin", ActorKind: audit.KindSystem, Action: audit.ActionRobotCreate, ResourceType: audit.ResourceRobot, Resource: "robot$ci", Project: "team"},
	}
	for i := range es {
		es[i].Time = t0().Add(time.Duration(i) * time.Minute)
	}
	return es
}

// record writes entries with Store.Record.
func record(t *testing.T, s *audit.Store, es ...audit.Entry) {
	t.Helper()
	for _, e := range es {
		require.NoError(t, s.Record(t.Context(), e))
	}
}

// resources lists the resources of entries, in order.
func resources(es []audit.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Resource
	}
	return out
}

// all returns every entry of the store, newest first.
func all(t *testing.T, s *audit.Store) []audit.Entry {
	t.Helper()
	es, total, err := s.Query(t.Context(), audit.Filter{}, audit.Page{Limit: audit.MaxPageSize})
	require.NoError(t, err)
	require.Len(t, es, total)
	return es
}

// holdWrites blocks every write to the audit log of db until the
// returned function is called: a store slowed to a halt. On SQLite a
// write transaction excludes every other writer; on PostgreSQL, where
// writers run side by side, it locks the table against them (SHARE mode
// still lets reads through).
func holdWrites(t *testing.T, db *sqldb.DB) (release func()) {
	t.Helper()
	held, let, finished := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		finished <- db.Write(context.Background(), func(tx *sqldb.Tx) error {
			if db.Dialect() == sqldb.Postgres {
				if _, err := tx.Exec(context.Background(), `LOCK TABLE audit_log IN SHARE MODE`); err != nil {
					close(held)
					return err
				}
			}
			close(held)
			<-let
			return nil
		})
	}()
	<-held
	return func() {
		close(let)
		require.NoError(t, <-finished)
	}
}

// renameTable moves the audit table away (writes then fail) or back.
func renameTable(t *testing.T, db *sqldb.DB, from, to string) {
	t.Helper()
	require.NoError(t, db.Write(t.Context(), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(t.Context(), "ALTER TABLE "+from+" RENAME TO "+to)
		return err
	}))
}
