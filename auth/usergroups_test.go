package auth

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// fakeGrants records what UserGroups asks of the project memberships.
type fakeGrants struct {
	mu     sync.Mutex
	calls  []string
	failOn string
}

func (f *fakeGrants) ForgetSubject(_ context.Context, subject string) error {
	return f.record("forget " + subject)
}

func (f *fakeGrants) MoveSubject(_ context.Context, from, to string) error {
	return f.record("move " + from + " -> " + to)
}

func (f *fakeGrants) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if f.failOn == call {
		return errors.New("memberships unavailable")
	}
	return nil
}

func newUserGroups(t *testing.T, db *sqldb.DB, opts ...UserGroupOption) *UserGroups {
	t.Helper()
	s, err := NewUserGroups(t.Context(), db, opts...)
	require.NoError(t, err)
	return s
}

func TestUserGroupsCreateGetList(t *testing.T) { OnEngines(t, testUserGroupsCreateGetList) }

func testUserGroupsCreateGetList(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	s := newUserGroups(t, db)
	devs, err := s.Create(ctx, UserGroup{Name: " devs ", Type: GroupLDAP, LDAPDN: "cn=devs,ou=groups,dc=example,dc=com"})
	require.NoError(t, err)
	assert.Equal(t, "devs", devs.Name, "trimmed")
	assert.Positive(t, devs.ID)
	assert.False(t, devs.CreatedAt.IsZero())
	ops, err := s.Create(ctx, UserGroup{Name: "Ops", Type: GroupOIDC})
	require.NoError(t, err)
	assert.Greater(t, ops.ID, devs.ID)

	got, err := s.Get(ctx, devs.ID)
	require.NoError(t, err)
	assert.Equal(t, devs, got)
	got, err = s.ByDN(ctx, "cn=devs,ou=groups,dc=example,dc=com")
	require.NoError(t, err)
	assert.Equal(t, devs.ID, got.ID)
	got, err = s.ByName(ctx, GroupOIDC, "Ops")
	require.NoError(t, err)
	assert.Equal(t, ops.ID, got.ID)
	_, err = s.ByName(ctx, GroupHTTP, "Ops")
	require.ErrorIs(t, err, core.ErrNotFound)
	_, err = s.Get(ctx, 999)
	require.ErrorIs(t, err, core.ErrNotFound)

	// The same DN, or a name another non-LDAP group has, is taken.
	_, err = s.Create(ctx, UserGroup{Name: "other", Type: GroupLDAP, LDAPDN: "cn=devs,ou=groups,dc=example,dc=com"})
	require.ErrorIs(t, err, core.ErrExists)
	_, err = s.Create(ctx, UserGroup{Name: "Ops", Type: GroupHTTP})
	require.ErrorIs(t, err, core.ErrExists)
	// LDAP groups in different places may share a name.
	_, err = s.Create(ctx, UserGroup{Name: "devs", Type: GroupLDAP, LDAPDN: "cn=devs,ou=eu,dc=example,dc=com"})
	require.NoError(t, err)

	list, total, err := s.List(ctx, UserGroupFilter{NameContains: "DEV"})
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	assert.Equal(t, devs.ID, list[0].ID)
	list, total, err = s.List(ctx, UserGroupFilter{NameContains: "%"})
	require.NoError(t, err)
	assert.Zero(t, total, "LIKE wildcards match literally")
	assert.Empty(t, list)
	list, total, err = s.List(ctx, UserGroupFilter{LDAPDN: "cn=devs,ou=eu,dc=example,dc=com"})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	assert.Equal(t, "cn=devs,ou=eu,dc=example,dc=com", list[0].LDAPDN)
	list, total, err = s.List(ctx, UserGroupFilter{Page: core.Page{Offset: 2, Limit: 1}})
	require.NoError(t, err)
	assert.Equal(t, 3, total)
	require.Len(t, list, 1)
	list, _, err = s.List(ctx, UserGroupFilter{Type: GroupOIDC})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "Ops", list[0].Name)
}

func TestUserGroupsRejectBadGroups(t *testing.T) {
	s := newUserGroups(t, memoryDB(t))
	for name, g := range map[string]UserGroup{
		"no name":         {Type: GroupOIDC},
		"control char":    {Name: "a\nb", Type: GroupOIDC},
		"long name":       {Name: string(make([]byte, MaxGroupNameLength+1)), Type: GroupOIDC},
		"bad type":        {Name: "x", Type: 7},
		"LDAP without DN": {Name: "x", Type: GroupLDAP},
		"DN on OIDC":      {Name: "x", Type: GroupOIDC, LDAPDN: "cn=x"},
	} {
		_, err := s.Create(t.Context(), g)
		assert.ErrorIs(t, err, core.ErrInvalid, name)
	}
}

func TestUserGroupsRenameAndDelete(t *testing.T) { OnEngines(t, testUserGroupsRenameAndDelete) }

func testUserGroupsRenameAndDelete(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	grants := &fakeGrants{}
	s := newUserGroups(t, db, WithGroupMemberships(grants))
	ldap, err := s.Create(ctx, UserGroup{Name: "devs", Type: GroupLDAP, LDAPDN: "cn=devs,dc=x"})
	require.NoError(t, err)
	oidc, err := s.Create(ctx, UserGroup{Name: "ops", Type: GroupOIDC})
	require.NoError(t, err)
	qa, err := s.Create(ctx, UserGroup{Name: "qa", Type: GroupHTTP})
	require.NoError(t, err)

	// An LDAP group's grants name its DN: a rename leaves them.
	g, err := s.Rename(ctx, ldap.ID, "developers")
	require.NoError(t, err)
	assert.Equal(t, "developers", g.Name)
	// Another group's grants name it: they follow it.
	_, err = s.Rename(ctx, oidc.ID, "operations")
	require.NoError(t, err)
	_, err = s.Rename(ctx, oidc.ID, "qa")
	require.ErrorIs(t, err, core.ErrExists)
	_, err = s.Rename(ctx, 999, "x")
	require.ErrorIs(t, err, core.ErrNotFound)
	_, err = s.Rename(ctx, oidc.ID, "")
	require.ErrorIs(t, err, core.ErrInvalid)
	got, err := s.Get(ctx, oidc.ID)
	require.NoError(t, err)
	assert.Equal(t, "operations", got.Name)

	require.NoError(t, s.Delete(ctx, ldap.ID))
	require.ErrorIs(t, s.Delete(ctx, ldap.ID), core.ErrNotFound)
	_, err = s.Get(ctx, ldap.ID)
	require.ErrorIs(t, err, core.ErrNotFound)
	assert.Equal(t, []string{"move group:ops -> group:operations", "forget group:cn=devs,dc=x"}, grants.calls)

	// A failure to remove the grants keeps the group, to delete again.
	grants.failOn = "forget group:operations"
	require.Error(t, s.Delete(ctx, oidc.ID))
	_, err = s.Get(ctx, oidc.ID)
	require.NoError(t, err)

	// Ids are never reused, not even the highest one's.
	require.NoError(t, s.Delete(ctx, qa.ID))
	again, err := s.Create(ctx, UserGroup{Name: "devs", Type: GroupLDAP, LDAPDN: "cn=devs,dc=x"})
	require.NoError(t, err)
	assert.Greater(t, again.ID, qa.ID)
}
