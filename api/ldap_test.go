package api_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/ldap"
	"github.com/berthlabs/berth/internal/slapdtest"
)

// ldapEnv is the API over a real slapd seeded with slapdtest's directory.
func ldapEnv(t *testing.T, opts ...api.Option) *env {
	t.Helper()
	srv := slapdtest.Start(t)
	dir, err := ldap.New(ldap.Config{URL: srv.URL, BindDN: slapdtest.SearchDN, BindPassword: slapdtest.SearchPassword,
		BaseDN: slapdtest.BaseDN, UserFilter: "(objectClass=inetOrgPerson)", GroupBaseDN: slapdtest.GroupsDN,
		GroupFilter: "(objectClass=groupOfNames)", Timeout: 5 * time.Second})
	require.NoError(t, err)
	e := newEnv(t, append([]api.Option{api.WithLDAP(dir), api.WithGroupDN(ldap.CanonicalDN)}, opts...)...)
	e.user("someone")
	return e
}

func TestLDAPNotConfigured(t *testing.T) {
	e := newEnv(t)
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/ldap/ping"},
		{http.MethodGet, "/ldap/users/search?username=a"},
		{http.MethodGet, "/ldap/groups/search?groupname=devs"},
		{http.MethodPost, "/ldap/users/import"},
	} {
		var body any
		if r.method == http.MethodPost {
			body = map[string]any{"ldap_uid_list": []string{"alice"}}
		}
		msg := e.do(admin(), r.method, r.path, body).fails(t, http.StatusBadRequest, "BAD_REQUEST")
		assert.Contains(t, msg, "LDAP is not configured", r.path)
	}
}

func TestLDAPPing(t *testing.T) {
	e := ldapEnv(t)
	var res api.LdapPingResult
	e.do(admin(), http.MethodPost, "/ldap/ping", nil).ok(t, http.StatusOK, &res)
	assert.Equal(t, api.LdapPingResult{Success: true}, res, "an empty body pings the configured directory")

	e.do(admin(), http.MethodPost, "/ldap/ping", api.LdapConf{LdapSearchPassword: "wrong-pw"}).ok(t, http.StatusOK, &res)
	assert.False(t, res.Success)
	assert.Contains(t, res.Message, "Invalid Credentials")
	assert.NotContains(t, res.Message, "wrong-pw", "the password is never echoed")

	// Another search DN without a password does not get the configured
	// one: it is an incomplete configuration.
	msg := e.do(admin(), http.MethodPost, "/ldap/ping", api.LdapConf{LdapSearchDn: slapdtest.AdminDN}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	assert.Contains(t, msg, "BindDN and BindPassword must be set together")
	assert.NotContains(t, msg, slapdtest.SearchPassword)

	// Nothing listens there: a failure, reported within the bound.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	e.do(admin(), http.MethodPost, "/ldap/ping", api.LdapConf{LdapURL: addr, LdapSearchPassword: "x",
		LdapConnectionTimeout: 2}).ok(t, http.StatusOK, &res)
	assert.False(t, res.Success)
	assert.Contains(t, res.Message, "unavailable")

	// Another server without a password does not get the configured one:
	// nothing is sent to it at all.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	connected := make(chan struct{}, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			connected <- struct{}{}
			_ = c.Close()
		}
	}()
	msg = e.do(admin(), http.MethodPost, "/ldap/ping", api.LdapConf{LdapURL: "ldap://" + l.Addr().String()}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	assert.Contains(t, msg, "BindDN and BindPassword must be set together")
	require.NoError(t, l.Close())
	select {
	case <-connected:
		t.Fatal("the ping connected to a server that was not given the password")
	case <-time.After(50 * time.Millisecond):
	}

	e.do(admin(), http.MethodPost, "/ldap/ping", api.LdapConf{LdapURL: "http://x"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPost, "/ldap/ping", api.LdapConf{LdapConnectionTimeout: 3600}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPost, "/ldap/ping", `{"ldap_url": 5}`).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("someone"), http.MethodPost, "/ldap/ping", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodPost, "/ldap/ping", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
}

func TestLDAPSearch(t *testing.T) {
	e := ldapEnv(t)
	var users []api.LdapUser
	e.do(admin(), http.MethodGet, "/ldap/users/search?username=ali", nil).ok(t, http.StatusOK, &users)
	assert.Equal(t, []api.LdapUser{{Username: "alice", Realname: "Alice L.", Email: "alice@berth.test"}}, users)
	e.do(admin(), http.MethodGet, "/ldap/users/search?username=nobody", nil).ok(t, http.StatusOK, &users)
	assert.Empty(t, users)
	e.do(as("someone"), http.MethodGet, "/ldap/users/search?username=a", nil).fails(t, http.StatusForbidden, "FORBIDDEN")

	var groups []api.UserGroup
	e.do(admin(), http.MethodGet, "/ldap/groups/search?groupname=platform", nil).ok(t, http.StatusOK, &groups)
	assert.Equal(t, []api.UserGroup{{GroupName: "platform", GroupType: 1, LDAPGroupDN: "cn=platform,ou=groups,dc=berth,dc=test"}}, groups)
	e.do(admin(), http.MethodGet, "/ldap/groups/search?groupdn=CN%3DDevs,OU%3DGroups,DC%3Dberth,DC%3Dtest", nil).ok(t, http.StatusOK, &groups)
	require.Len(t, groups, 1)
	assert.Equal(t, "cn=devs,ou=groups,dc=berth,dc=test", groups[0].LDAPGroupDN, "canonical, as memberships bind it")
	e.do(admin(), http.MethodGet, "/ldap/groups/search?groupdn=cn%3Dnope,ou%3Dgroups,dc%3Dberth,dc%3Dtest", nil).ok(t, http.StatusOK, &groups)
	assert.Empty(t, groups)
	e.do(admin(), http.MethodGet, "/ldap/groups/search?groupdn=not-a-dn", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodGet, "/ldap/groups/search", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("someone"), http.MethodGet, "/ldap/groups/search?groupname=devs", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}

func TestLDAPImportUsers(t *testing.T) {
	e := ldapEnv(t)
	e.user("carol") // a local account of that name
	var failed []api.LdapFailedImportUser
	e.do(admin(), http.MethodPost, "/ldap/users/import",
		api.LdapImportUsers{LdapUIDList: []string{"alice", "BOB", "ghost", "twin", "carol"}}).ok(t, http.StatusNotFound, &failed)
	require.Len(t, failed, 3)
	assert.Equal(t, api.LdapFailedImportUser{UID: "ghost", Error: "not found in the directory"}, failed[0])
	assert.Equal(t, "twin", failed[1].UID)
	assert.Equal(t, "carol", failed[2].UID)
	assert.Contains(t, failed[2].Error, "local user")

	u, err := e.users.Get(t.Context(), "alice")
	require.NoError(t, err)
	assert.Equal(t, auth.SourceLDAP, u.Source)
	assert.Equal(t, "Alice L.", u.DisplayName)
	_, err = e.users.Get(t.Context(), "bob")
	require.NoError(t, err, "imported under the directory's spelling")

	// Importing again is harmless.
	e.do(admin(), http.MethodPost, "/ldap/users/import", api.LdapImportUsers{LdapUIDList: []string{"alice"}}).ok(t, http.StatusOK, nil)

	e.do(admin(), http.MethodPost, "/ldap/users/import", api.LdapImportUsers{}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	many := strings.Split(strings.Repeat("x,", 101), ",")
	e.do(admin(), http.MethodPost, "/ldap/users/import", api.LdapImportUsers{LdapUIDList: many}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPost, "/ldap/users/import", `{"ldap_uid_list": "alice"}`).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("someone"), http.MethodPost, "/ldap/users/import",
		api.LdapImportUsers{LdapUIDList: []string{"dave"}}).fails(t, http.StatusForbidden, "FORBIDDEN")
	_, err = e.users.Get(t.Context(), "dave")
	require.ErrorIs(t, err, auth.ErrNotFound)
}
