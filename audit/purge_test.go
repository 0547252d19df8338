package audit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

func TestPurgeOperations(t *testing.T) {
	at := func(m int) time.Time { return t0().Add(time.Duration(m) * time.Minute) }
	// fixtures: 0 push, 1 pull, 2 pull, 3 push, 4 login-failure,
	// 5 member-add, 6 delete, 7 robot-create; one minute apart.
	tests := []struct {
		name      string
		olderThan time.Time
		actions   []string
		dryRun    bool
		purged    int64
		left      []int
	}{
		{"by age", at(3), nil, false, 3, []int{7, 6, 5, 4, 3}},
		{"the cut-off itself is kept", at(0), nil, false, 0, []int{7, 6, 5, 4, 3, 2, 1, 0}},
		{"everything", at(100), nil, false, 8, []int{}},
		{"one action", at(100), []string{audit.ActionPull}, false, 2, []int{7, 6, 5, 4, 3, 0}},
		{"one action, by age", at(2), []string{audit.ActionPull}, false, 1, []int{7, 6, 5, 4, 3, 2, 0}},
		{"several actions", at(100), []string{audit.ActionPush, " login-failure ", audit.ActionPush, ""}, false, 3,
			[]int{7, 6, 5, 2, 1}},
		{"an action never recorded", at(100), []string{"chart-upload"}, false, 0, []int{7, 6, 5, 4, 3, 2, 1, 0}},
		{"dry run", at(100), nil, true, 8, []int{7, 6, 5, 4, 3, 2, 1, 0}},
		{"dry run of actions", at(3), []string{audit.ActionPull, audit.ActionPush}, true, 3,
			[]int{7, 6, 5, 4, 3, 2, 1, 0}},
	}
	eachBackend(t, func(t *testing.T, db *sqldb.DB, s *audit.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				require.NoError(t, db.Write(t.Context(), func(tx *sqldb.Tx) error {
					_, err := tx.Exec(t.Context(), `DELETE FROM audit_log`)
					return err
				}))
				record(t, s, fixtures()...)
				n, err := s.PurgeOperations(t.Context(), tt.olderThan, tt.actions, tt.dryRun)
				require.NoError(t, err)
				assert.Equal(t, tt.purged, n)
				assert.Equal(t, tt.left, minutes(all(t, s)))
			})
		}
	})
}

func TestPurgeOperationsNeedsATime(t *testing.T) {
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		record(t, s, fixtures()...)
		_, err := s.PurgeOperations(t.Context(), time.Time{}, nil, false)
		assert.ErrorIs(t, err, core.ErrInvalid)
		assert.Len(t, all(t, s), 8)
	})
}

func TestPurgeActions(t *testing.T) {
	tests := []struct {
		ops  []string
		want []string
	}{
		{nil, nil},
		{[]string{" ", ""}, nil},
		{[]string{"pull"}, []string{"pull"}},
		{[]string{"create", "delete", "pull"}, []string{"delete", "member-add", "member-remove", "project-create",
			"project-delete", "pull", "push", "robot-create", "robot-delete", "user-create", "user-delete"}},
		{[]string{"Update"}, []string{"password-change", "project-update", "robot-update", "role-change"}},
		{[]string{"pull_artifact", "create_artifact", "DELETE_ARTIFACT"}, []string{"delete", "pull", "push"}},
		{[]string{"login-failure", "createRegistry", "push"}, []string{"createRegistry", "login-failure", "push"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, audit.PurgeActions(tt.ops), "%q", tt.ops)
	}
}
