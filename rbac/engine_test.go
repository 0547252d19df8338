package rbac

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewErrors(t *testing.T) {
	projects := []Project{{Name: "library"}}
	pull := []Permission{{ResourceRepository, ActionPull}}
	tests := []struct {
		name   string
		policy Policy
		opts   []Option
		is     error
	}{
		{"unknown role", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "user:alice", Project: "library", Role: "owner"}}}, nil, ErrUnknownRole},
		{"unknown project", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "user:alice", Project: "nope", Role: Guest}}}, nil, ErrUnknownProject},
		{"user on every project", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "user:alice", Project: "*", Role: Guest}}}, nil, ErrUnknownProject},
		{"no role", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "user:alice", Project: "library"}}}, nil, ErrInvalidPolicy},
		{"bad subject", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "alice", Project: "library", Role: Guest}}}, nil, ErrInvalidPolicy},
		{"unknown subject kind", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "team:x", Project: "library", Role: Guest}}}, nil, ErrInvalidPolicy},
		{"user with permissions", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "user:alice", Project: "library", Role: Guest, Permissions: pull}}}, nil, ErrInvalidPolicy},
		{"robot with role", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "robot:ci", Project: "library", Role: Guest}}}, nil, ErrInvalidPolicy},
		{"robot without permissions", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "robot:ci", Project: "library"}}}, nil, ErrInvalidPolicy},
		{"pattern in another project", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "user:alice", Project: "library", Role: Guest, Repositories: "secret/**"}}}, nil, ErrInvalidPolicy},
		{"pattern with ..", Policy{Projects: projects, Bindings: []Binding{
			{Subject: "user:alice", Project: "library", Role: Guest, Repositories: "library/../secret/**"}}}, nil, ErrInvalidPolicy},
		{"custom role shadows built-in", Policy{Projects: projects, CustomRoles: map[Role][]Permission{
			Guest: pull}}, nil, ErrInvalidPolicy},
		{"custom role with empty action", Policy{Projects: projects, CustomRoles: map[Role][]Permission{
			"puller": {{ResourceRepository, ""}}}}, nil, ErrInvalidPolicy},
		{"bad project name", Policy{Projects: []Project{{Name: "Library"}}}, nil, ErrInvalidPolicy},
		{"duplicate project", Policy{Projects: []Project{{Name: "a"}, {Name: "a"}}}, nil, ErrInvalidPolicy},
		{"bad public permission", Policy{Projects: projects}, []Option{WithPublicPermissions(Permission{"", ActionPull})}, ErrInvalidPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.policy, tt.opts...)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.is)
		})
	}
}

func TestNewEmptyPolicy(t *testing.T) {
	e, err := New(Policy{})
	require.NoError(t, err)
	d := e.Decide(Principal{Kind: User, Name: "alice"}, "library", "library/app", Permission{ResourceRepository, ActionPull})
	assert.Equal(t, Decision{Reason: `denied: project "library" does not exist`}, d)
}

// TestPolicyIsCopied checks the engine keeps no reference into the caller's
// Policy: editing it afterwards changes nothing.
func TestPolicyIsCopied(t *testing.T) {
	perms := []Permission{{ResourceRepository, ActionPull}}
	p := Policy{
		Projects:    []Project{{Name: "library"}},
		Bindings:    []Binding{{Subject: "robot:ci", Project: "library", Permissions: perms}},
		CustomRoles: map[Role][]Permission{"puller": perms},
	}
	e, err := New(p)
	require.NoError(t, err)
	perms[0] = Permission{ResourceRepository, ActionPush}
	p.Projects[0].Public = true
	robot := Principal{Kind: Robot, Name: "ci"}
	assert.True(t, e.Decide(robot, "", "library/app", Permission{ResourceRepository, ActionPull}).Allowed)
	assert.False(t, e.Decide(robot, "", "library/app", Permission{ResourceRepository, ActionPush}).Allowed)
	assert.False(t, e.Decide(Principal{}, "", "library/app", Permission{ResourceRepository, ActionPull}).Allowed)
}

func TestPermissionsIsACopy(t *testing.T) {
	p := Permissions(Guest)
	p[0] = Permission{"*", ActionAll}
	assert.NotEqual(t, Permission{"*", ActionAll}, Permissions(Guest)[0])
}
