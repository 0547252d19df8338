package audit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/sqldb"
)

func TestParseQuery(t *testing.T) {
	day := func(y int, m time.Month, d, h, min, s, ns int) time.Time {
		return time.Date(y, m, d, h, min, s, ns, time.UTC)
	}
	tests := []struct {
		q    string
		want audit.Filter
	}{
		{"", audit.Filter{}},
		{" , ", audit.Filter{}},
		{"username=alice", audit.Filter{Actor: "alice"}},
		{"operation=push", audit.Filter{Action: "push"}},
		{"resource=~library/", audit.Filter{Resource: "library/"}},
		{"resource=library/nginx", audit.Filter{Resource: "library/nginx", ResourceExact: true}},
		{"resource_type=artifact", audit.Filter{ResourceType: "artifact"}},
		{"project=team,actor_kind=robot,result=failure", audit.Filter{Project: "team", ActorKind: "robot", Result: "failure"}},
		{`username="alice,bob"`, audit.Filter{Actor: "alice,bob"}},
		{"username='robot$ci'", audit.Filter{Actor: "robot$ci"}},
		{" username = alice ", audit.Filter{Actor: "alice"}},
		{
			"operation=push,resource=~library/,op_time=[2024-01-01 00:00:00~2024-12-31 23:59:59]",
			audit.Filter{Action: "push", Resource: "library/",
				From: day(2024, 1, 1, 0, 0, 0, 0), To: day(2024, 12, 31, 23, 59, 59, 999999999)},
		},
		{"op_time=[2024-03-01~]", audit.Filter{From: day(2024, 3, 1, 0, 0, 0, 0)}},
		{"op_time=[~2024-03-01]", audit.Filter{To: day(2024, 3, 1, 23, 59, 59, 999999999)}},
		{`op_time=["2024-03-01 10:00:00"~'2024-03-01 11:00:00']`,
			audit.Filter{From: day(2024, 3, 1, 10, 0, 0, 0), To: day(2024, 3, 1, 11, 0, 0, 999999999)}},
		{"op_time=[2024-03-01T10:00:00+02:00~2024-03-01T10:00:00.5Z]",
			audit.Filter{From: day(2024, 3, 1, 8, 0, 0, 0), To: day(2024, 3, 1, 10, 0, 0, 500000000)}},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			f, err := audit.ParseQuery(tt.q)
			require.NoError(t, err)
			assert.Equal(t, tt.want, f)
		})
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		q       string
		message string // part of the error
	}{
		{"user=alice", "unknown key"},
		{"op=push", "supported keys: username, operation"},
		{"username", "want key=value"},
		{"=alice", "want key=value"},
		{"username=", "empty value"},
		{"username=alice,username=bob", "given twice"},
		{"username=~ali", "only supported for resource"},
		{"operation={push pull}", "lists are not supported"},
		{"operation=(push pull)", "lists are not supported"},
		{"username=[a~b]", "only supported for op_time"},
		{"op_time=2024-01-01 00:00:00", "want a range"},
		{"op_time=~[2024-01-01~]", "want a range"},
		{"op_time=[2024-01-01]", "want [from~to]"},
		{"op_time=[yesterday~]", `time "yesterday"`},
		{"op_time=[2024-02-01~2024-01-01]", "ends before it starts"},
		{"op_time=[2024-01-01~", "unbalanced"},
		{`username="alice`, "unbalanced"},
		{"username=a]", "unbalanced"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			_, err := audit.ParseQuery(tt.q)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.message)
		})
	}
}

// A parsed query runs against a store as is.
func TestParseQueryRuns(t *testing.T) {
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		record(t, s, fixtures()...)
		f, err := audit.ParseQuery("operation=pull,resource=~library/,op_time=[2024-06-01 12:01:00~2024-06-01 12:02:00]")
		require.NoError(t, err)
		es, total, err := s.Query(t.Context(), f, audit.Page{})
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		assert.Equal(t, []int{2, 1}, minutes(es))
	})
}
