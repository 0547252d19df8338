package token

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

func TestAllows(t *testing.T) {
	tests := []struct {
		name    string
		granted []registry.Access
		need    []registry.Access
		missing []registry.Access // nil: allowed
	}{
		{name: "ping needs only a valid token", need: []registry.Access{}},
		{name: "ping entry without actions", need: []registry.Access{repo("a")}},
		{name: "pull", granted: []registry.Access{repo("a", "pull")}, need: []registry.Access{repo("a", "pull")}},
		{name: "push needs pull and push", granted: []registry.Access{repo("a", "pull", "push")},
			need: []registry.Access{repo("a", "pull", "push")}},
		{name: "star covers every action", granted: []registry.Access{repo("a", "*")},
			need: []registry.Access{repo("a", "pull", "push", "delete")}},
		{name: "catalog", granted: []registry.Access{catalog()}, need: []registry.Access{catalog()}},
		{name: "repo A token used for repo B", granted: []registry.Access{repo("a", "*")},
			need: []registry.Access{repo("b", "pull")}, missing: []registry.Access{repo("b", "pull")}},
		{name: "repo A token used for a repo under A", granted: []registry.Access{repo("a", "*")},
			need: []registry.Access{repo("a/b", "pull")}, missing: []registry.Access{repo("a/b", "pull")}},
		{name: "pull token used for push", granted: []registry.Access{repo("a", "pull")},
			need: []registry.Access{repo("a", "pull", "push")}, missing: []registry.Access{repo("a", "push")}},
		{name: "pull and push do not make delete", granted: []registry.Access{repo("a", "pull", "push")},
			need: []registry.Access{repo("a", "delete")}, missing: []registry.Access{repo("a", "delete")}},
		{name: "catalog needs star", granted: []registry.Access{repo("catalog", "*")},
			need: []registry.Access{catalog()}, missing: []registry.Access{catalog()}},
		{name: "mount lacks source pull", granted: []registry.Access{repo("to", "pull", "push")},
			need:    []registry.Access{repo("to", "pull", "push"), repo("from", "pull")},
			missing: []registry.Access{repo("from", "pull")}},
		{name: "no access at all", need: []registry.Access{repo("a", "pull")},
			missing: []registry.Access{repo("a", "pull")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c, err := e.svc.Verify(e.issue(t, "alice", tt.granted...))
			require.NoError(t, err)
			err = c.Allows(tt.need)
			if tt.missing == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInsufficientScope)
			var se *ScopeError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.missing, se.Missing)
			assert.Contains(t, err.Error(), FormatScope(tt.missing))
		})
	}
}
