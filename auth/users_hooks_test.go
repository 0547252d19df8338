package auth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

func TestUserChangeHooks(t *testing.T) {
	rec := &recorder{}
	clock := newFakeClock()
	users := newTestUsers(t, memoryDB(t), WithChangeHook(rec.hook), WithClock(clock.Now))
	ctx := registry.WithActor(t.Context(), "root")

	created, err := users.Bootstrap(ctx, "root", "root-password")
	require.NoError(t, err)
	require.True(t, created)
	_, err = users.Create(ctx, User{Name: "bob"}, "bob-password")
	require.NoError(t, err)
	require.NoError(t, users.SetSystemAdmin(ctx, "bob", true))
	require.NoError(t, users.SetSystemAdmin(ctx, "bob", true)) // no change, no event
	require.NoError(t, users.ChangePassword(ctx, "bob", "bob-password", "bob-password2"))
	require.NoError(t, users.SetPassword(ctx, "bob", "bob-password3"))
	_, err = users.Onboard(ctx, "lucy", "", "", SourceLDAP)
	require.NoError(t, err)
	_, err = users.Onboard(ctx, "lucy", "lucy@example.com", "", SourceLDAP) // update, not create
	require.NoError(t, err)
	require.NoError(t, users.Delete(ctx, "bob"))
	_, err = users.Authenticate(ctx, "lucy", "x") // logins are not changes
	require.Error(t, err)

	// Failures report nothing.
	_, err = users.Create(ctx, User{Name: "root"}, "password1")
	require.ErrorIs(t, err, ErrExists)
	require.ErrorIs(t, users.Delete(ctx, "root"), ErrLastAdmin)

	want := []Change{
		{Kind: ChangeUserCreate, Name: "root", Detail: "source=local,system_admin=true"},
		{Kind: ChangeUserCreate, Name: "bob", Detail: "source=local"},
		{Kind: ChangeUserAdmin, Name: "bob", Detail: "system_admin=true"},
		{Kind: ChangePassword, Name: "bob"},
		{Kind: ChangePassword, Name: "bob", Detail: "reset"},
		{Kind: ChangeUserCreate, Name: "lucy", Detail: "source=ldap"},
		{Kind: ChangeUserDelete, Name: "bob"},
	}
	for i := range want {
		want[i].Actor, want[i].At = "root", clock.Now()
	}
	assert.Equal(t, want, rec.all())
}
