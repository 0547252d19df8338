package rbac

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRepositoryActions(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name      string
		p         Principal
		repo      string
		requested []string
		granted   []string
		reasons   []string
	}{
		{"developer pull+push", user("alice"), "library/app", []string{"pull", "push"}, []string{"pull", "push"}, []string{
			`allowed: alice is developer of project "library"`,
			`allowed: alice is developer of project "library"`,
		}},
		{"guest asks for push", user("bob"), "library/app", []string{"pull", "push"}, []string{"pull"}, []string{
			`allowed: bob is guest of project "library"`,
			`denied: bob is guest of project "library"; guest cannot push repository`,
		}},
		{"anonymous private", Principal{}, "secret/app", []string{"pull"}, nil, []string{
			`denied: anonymous users may only pull from public projects; "secret" is private`,
		}},
		{"star for admin", Principal{Kind: User, Name: "root", SystemAdmin: true}, "secret/app", []string{"*"}, []string{"*"}, []string{
			`allowed: root is a system administrator`,
		}},
		{"star narrows to what is allowed", user("alice"), "library/app", []string{"*"}, []string{"pull", "push"}, []string{
			`denied: alice is developer of project "library"; developer cannot delete repository`,
		}},
		{"duplicates and unknown actions", user("alice"), "library/app", []string{"pull", "pull", "frob"}, []string{"pull"}, []string{
			`allowed: alice is developer of project "library"`,
			`allowed: alice is developer of project "library"`,
			`denied: unknown registry action "frob"`,
		}},
		{"repository-level grant", user("erin"), "secret/team/app", []string{"pull", "push", "delete"}, []string{"pull", "push", "delete"}, []string{
			`allowed: erin is maintainer of "secret/team/**" in project "secret"`,
			`allowed: erin is maintainer of "secret/team/**" in project "secret"`,
			`allowed: erin is maintainer of "secret/team/**" in project "secret"`,
		}},
		{"invalid repository", user("alice"), "library/../secret", []string{"pull"}, nil, []string{
			`denied: "library/../secret" is not a valid repository name`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			granted, reasons := e.RepositoryActions(tt.p, tt.repo, tt.requested)
			assert.Equal(t, tt.granted, granted)
			assert.Equal(t, tt.reasons, reasons)
		})
	}
}
