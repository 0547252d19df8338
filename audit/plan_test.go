package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

// The queries a filter makes are answered from its index, in newest-first
// order, without a full scan or a sort.
func TestQueriesUseIndexes(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	defer db.Close()
	_, err = NewStore(t.Context(), db)
	require.NoError(t, err)

	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		filter Filter
		index  string
	}{
		{Filter{}, "audit_log_time"},
		{Filter{From: at, To: at.Add(time.Hour)}, "audit_log_time"},
		{Filter{Actor: "alice"}, "audit_log_actor"},
		{Filter{Project: "library"}, "audit_log_project"},
		{Filter{ProjectID: 7}, "audit_log_project_id"},
		{Filter{Action: ActionPush}, "audit_log_action"},
		{Filter{Resource: "library/ng%_x"}, "audit_log_resource"},
		{Filter{Resource: "library/nginx", ResourceExact: true}, "audit_log_resource"},
	}
	for _, tt := range tests {
		count, page, args := tt.filter.sql()
		for _, q := range []struct {
			sql  string
			args []any
		}{{count, args}, {page, append(args, 20, 0)}} {
			plan := explain(t, db, q.sql, q.args)
			want := "SEARCH audit_log USING "
			if tt.filter == (Filter{}) {
				want = "SCAN audit_log USING " // in index order, stopping at LIMIT
			}
			assert.Regexp(t, want+"(COVERING )?INDEX "+tt.index+"\\b", plan, "%+v: %s", tt.filter, q.sql)
			if q.sql == page && tt.filter.Resource == "" {
				assert.NotContains(t, plan, "TEMP B-TREE", "%+v: sorted by its index", tt.filter)
			}
		}
	}
}

func explain(t *testing.T, db *sqldb.DB, query string, args []any) string {
	t.Helper()
	rows, err := db.Query(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		b.WriteString(detail + "\n")
	}
	require.NoError(t, rows.Err())
	return b.String()
}
