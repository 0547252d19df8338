package ldap_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth/ldap"
	"github.com/berthlabs/berth/internal/slapdtest"
)

// TestSlapdSearch runs the directory searches behind Harbor's /ldap
// endpoints against a real slapd.
func TestSlapdSearch(t *testing.T) {
	srv := slapdtest.Start(t)
	ctx := context.Background()
	a, err := ldap.New(ldap.Config{URL: srv.URL, BindDN: slapdtest.SearchDN, BindPassword: slapdtest.SearchPassword,
		BaseDN: slapdtest.BaseDN, UserFilter: "(objectClass=inetOrgPerson)", GroupBaseDN: slapdtest.GroupsDN,
		GroupFilter: "(objectClass=groupOfNames)", Timeout: 5 * time.Second})
	require.NoError(t, err)
	usernames := func(us []ldap.User) []string {
		out := []string{}
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}

	t.Run("SearchUsers", func(t *testing.T) {
		us, err := a.SearchUsers(ctx, "A")
		require.NoError(t, err)
		assert.Equal(t, []string{"alice", "carol", "dave"}, usernames(us), "substring, without case")
		assert.Equal(t, ldap.User{Username: "alice", DN: slapdtest.Users["alice"].DN(), Email: "alice@berth.test",
			DisplayName: "Alice L."}, us[0])
		all, err := a.SearchUsers(ctx, "")
		require.NoError(t, err)
		assert.Len(t, all, len(slapdtest.Users))
		// Filter syntax in the input is matched literally.
		us, err = a.SearchUsers(ctx, "l)(uid=*")
		require.NoError(t, err)
		assert.Equal(t, []string{"ev*l)(uid=*"}, usernames(us))
		us, err = a.SearchUsers(ctx, "nobody-has-this")
		require.NoError(t, err)
		assert.Empty(t, us)
	})

	t.Run("LookupUser", func(t *testing.T) {
		u, err := a.LookupUser(ctx, "BOB")
		require.NoError(t, err)
		require.NotNil(t, u)
		assert.Equal(t, "bob", u.Username)
		assert.Equal(t, "bob@berth.test", u.Email)
		u, err = a.LookupUser(ctx, "b*")
		require.NoError(t, err)
		assert.Nil(t, u, "no wildcard lookups")
		_, err = a.LookupUser(ctx, "twin")
		require.ErrorIs(t, err, ldap.ErrAmbiguousUser)
	})

	t.Run("SearchGroups", func(t *testing.T) {
		gs, err := a.SearchGroups(ctx, "DEVS")
		require.NoError(t, err)
		assert.Equal(t, []ldap.Group{{DN: slapdtest.GroupDN("devs"), Name: "devs"}}, gs)
		gs, err = a.SearchGroups(ctx, "")
		require.NoError(t, err)
		assert.Len(t, gs, len(slapdtest.Groups))
		gs, err = a.SearchGroups(ctx, "dev*")
		require.NoError(t, err)
		assert.Empty(t, gs, "names match exactly")
	})

	t.Run("GroupByDN", func(t *testing.T) {
		g, err := a.GroupByDN(ctx, "CN=Platform, OU=Groups,DC=berth,DC=test")
		require.NoError(t, err)
		require.NotNil(t, g)
		assert.Equal(t, "platform", g.Name)
		g, err = a.GroupByDN(ctx, slapdtest.GroupDN("nope"))
		require.NoError(t, err)
		assert.Nil(t, g, "no such entry")
		g, err = a.GroupByDN(ctx, slapdtest.Users["alice"].DN())
		require.NoError(t, err)
		assert.Nil(t, g, "a person, outside the group base")
		_, err = a.GroupByDN(ctx, "not a dn")
		require.ErrorIs(t, err, ldap.ErrInvalidDN)
	})

	t.Run("With", func(t *testing.T) {
		require.NoError(t, a.Ping(ctx))
		wrong, err := a.With(func(c *ldap.Config) { c.BindPassword = "wrong" })
		require.NoError(t, err)
		err = wrong.Ping(ctx)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "wrong", "the password is never in an error")
		assert.NotContains(t, err.Error(), slapdtest.SearchPassword)
		_, err = a.With(func(c *ldap.Config) { c.URL = "http://x" })
		require.ErrorContains(t, err, "invalid config")

		// Nothing listens: unavailable, within the timeout.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		down, err := a.With(func(c *ldap.Config) { c.URL = "ldap://" + addr; c.Timeout = time.Second })
		require.NoError(t, err)
		require.ErrorIs(t, down.Ping(ctx), ldap.ErrUnavailable)
	})
}
