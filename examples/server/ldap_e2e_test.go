package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/internal/slapdtest"
	"github.com/berthlabs/berth/server"
)

// TestLDAPLoginAndGroupRoles runs the whole server against a real OpenLDAP
// slapd (internal/slapdtest, seeded with its directory: alice is in
// "devs", which is in "platform", which is in "org"; carol is in
// "platform"; dave is in no group), configured the way an operator does it:
// an -ldap-config JSON file and the bind password in
// BERTH_LDAP_BIND_PASSWORD. A project grants the LDAP group "org" the
// developer role through the management API; logins then go through crane.
func TestLDAPLoginAndGroupRoles(t *testing.T) {
	dir := slapdtest.Start(t) // skips loudly without slapd; fails under CI=true
	alice, carol, dave := slapdtest.Users["alice"], slapdtest.Users["carol"], slapdtest.Users["dave"]
	orgDN := slapdtest.GroupDN("org")
	// alice reaches "org" only through two levels of nesting.
	require.NotContains(t, slapdtest.Groups["org"], alice.DN())
	require.NotContains(t, slapdtest.Groups["platform"], alice.DN())
	require.Equal(t, []string{slapdtest.GroupDN("platform")}, slapdtest.Groups["org"])
	require.Contains(t, slapdtest.Groups["platform"], slapdtest.GroupDN("devs"))
	require.Equal(t, []string{alice.DN()}, slapdtest.Groups["devs"])

	cfgFile := filepath.Join(t.TempDir(), "ldap.json")
	b, err := json.Marshal(server.LDAPFile{
		URL:            dir.URL,
		BindDN:         slapdtest.SearchDN,
		BaseDN:         slapdtest.BaseDN,
		UserFilter:     "(objectClass=inetOrgPerson)",
		UserAttr:       "uid",
		GroupBaseDN:    slapdtest.GroupsDN,
		GroupFilter:    "(objectClass=groupOfNames)",
		Nested:         "auto", // OpenLDAP has no in-chain rule: falls back to recursive expansion
		TimeoutSeconds: 5,
	})
	require.NoError(t, err)
	require.NotContains(t, string(b), slapdtest.SearchPassword, "the file holds no secret")
	require.NoError(t, os.WriteFile(cfgFile, b, 0o600))
	// Throttling off: the injection checks below fail logins on purpose,
	// and each must reach the directory to show it logs nobody in.
	a := startE2EApp(t, func(c *server.Config) {
		c.LDAP.ConfigFile, c.LDAP.BindPassword, c.LoginThrottle = cfgFile, slapdtest.SearchPassword, false
	})

	// As admin: a private project whose developers are the LDAP group "org".
	e2eCreateProject(t, a, "ldap-team", false)
	e2eAdmin(t, a, http.MethodPost, "/projects/ldap-team/members", api.ProjectMember{RoleID: 2,
		// Spelled differently from the directory: stored canonically, so it still matches.
		MemberGroup: &api.UserGroup{GroupType: 1, LDAPGroupDN: strings.ReplaceAll(strings.ToUpper(orgDN), ",", ", ")}},
		http.StatusCreated)
	members := e2eJSON[[]api.ProjectMemberEntity](t, e2eAdmin(t, a, http.MethodGet,
		"/projects/ldap-team/members?page_size=100", nil, http.StatusOK))
	i := slices.IndexFunc(members, func(m api.ProjectMemberEntity) bool { return m.EntityType == "g" })
	require.GreaterOrEqual(t, i, 0, "the group is a member: %+v", members)
	assert.Equal(t, orgDN, members[i].EntityName)
	assert.Equal(t, 2, members[i].RoleID)
	assert.Equal(t, "developer", members[i].RoleName)

	userList := func(q string) []api.UserResp {
		t.Helper()
		return e2eJSON[[]api.UserResp](t, e2eAdmin(t, a, http.MethodGet, "/users?page_size=100&q="+url.QueryEscape(q),
			nil, http.StatusOK))
	}
	require.Empty(t, userList("username=alice"), "LDAP users exist only once they have logged in")

	image := writeRandomImage(t)
	ref := a.host + "/ldap-team/app:1"

	t.Run("NestedTwoLevelsDeepPushes", func(t *testing.T) {
		out, err := a.crane(t, "alice", alice.Password, "push", image, ref)
		require.NoError(t, err, "alice is in org through devs → platform → org: developer: %s", out)
		out, err = a.crane(t, "alice", alice.Password, "manifest", ref)
		require.NoError(t, err, "%s", out)
		assert.Contains(t, out, `"schemaVersion"`)
		_, granted := e2eToken(t, a, "alice", alice.Password, "repository:ldap-team/app:pull,push,delete")
		assert.ElementsMatch(t, []string{"pull", "push"}, granted, "developer: pull and push, no delete")
	})

	t.Run("OnboardedOnFirstLogin", func(t *testing.T) {
		us := userList("username=alice")
		require.Len(t, us, 1, "alice was onboarded by her first login")
		assert.Equal(t, "alice", us[0].Username)
		assert.Equal(t, "ldap", us[0].Source)
		assert.Equal(t, alice.Mail, us[0].Email)
		assert.Equal(t, alice.DisplayName, us[0].Realname)
		assert.False(t, us[0].SysadminFlag)
		// Her Basic credentials work on the API too, and she is who she says.
		r := e2eDo(t, a, "alice", alice.Password, http.MethodGet, api.BasePath+"/users/current", nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r)
		assert.Equal(t, "alice", e2eJSON[api.UserResp](t, r).Username)
	})

	t.Run("NestedOneLevelPushes", func(t *testing.T) {
		out, err := a.crane(t, "carol", carol.Password, "push", image, a.host+"/ldap-team/app:carol")
		require.NoError(t, err, "carol is in platform, inside org: %s", out)
	})

	t.Run("NotInGroupIsDenied", func(t *testing.T) {
		out, err := a.crane(t, "dave", dave.Password, "push", image, a.host+"/ldap-team/app:dave")
		require.Error(t, err, "dave is in no group: %s", out)
		assert.Regexp(t, `UNAUTHORIZED|401 Unauthorized`, out)
		assert.NotContains(t, out, "invalid username or password", "dave logged in; only the scope was refused")
		_, granted := e2eToken(t, a, "dave", dave.Password, "repository:ldap-team/app:pull,push")
		assert.Empty(t, granted, "dave's token grants nothing in ldap-team")
		assert.False(t, e2eManifestExists(t, a, "ldap-team/app", "dave"))
		out, err = a.crane(t, "dave", dave.Password, "manifest", ref)
		require.Error(t, err, "nor may he pull from the private project: %s", out)
		require.Len(t, userList("username=dave"), 1, "dave did log in, so he was onboarded")
	})

	t.Run("WrongPasswordIsRefused", func(t *testing.T) {
		out, err := a.crane(t, "alice", "not-"+alice.Password, "manifest", ref)
		require.Error(t, err, "%s", out)
		assert.Contains(t, out, "invalid username or password")
		r := e2eDo(t, a, "alice", "not-"+alice.Password, http.MethodGet,
			"/service/token?service="+"berth"+"&scope=repository:ldap-team/app:pull", nil)
		assert.Equal(t, http.StatusUnauthorized, r.status, "the token service refuses the login: %s", r)
		r = e2eDo(t, a, "alice", "not-"+alice.Password, http.MethodGet, api.BasePath+"/users/current", nil)
		assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r)
	})

	t.Run("UnknownUserIsRefused", func(t *testing.T) {
		out, err := a.crane(t, "mallory", "whatever-1", "manifest", ref)
		require.Error(t, err, "%s", out)
		assert.Contains(t, out, "invalid username or password")
		assert.Empty(t, userList("username=mallory"))
	})

	t.Run("FilterMetacharactersLogNobodyIn", func(t *testing.T) {
		before := userList("")
		for _, username := range []string{"*)(uid=*", "*", "al*", "*)(|(uid=*", "alice)(|(uid=*"} {
			for _, password := range []string{alice.Password, dave.Password, slapdtest.SearchPassword} {
				r := e2eDo(t, a, username, password, http.MethodGet,
					"/service/token?service="+"berth"+"&scope=repository:ldap-team/app:pull", nil)
				assert.Equal(t, http.StatusUnauthorized, r.status, "%q / %q must not log in: %s", username, password, r)
				r = e2eDo(t, a, username, password, http.MethodGet, api.BasePath+"/users/current", nil)
				assert.Equal(t, http.StatusUnauthorized, r.status, "%q / %q must not log in: %s", username, password, r)
			}
		}
		// And with a real client, on the registry.
		out, err := a.crane(t, "*)(uid=*", alice.Password, "manifest", ref)
		require.Error(t, err, "%s", out)
		assert.Contains(t, out, "invalid username or password")
		out, err = a.crane(t, "*)(uid=*", alice.Password, "push", image, a.host+"/ldap-team/app:evil")
		require.Error(t, err, "%s", out)
		assert.False(t, e2eManifestExists(t, a, "ldap-team/app", "evil"))
		after := userList("")
		assert.Equal(t, len(before), len(after), "nobody was onboarded")
		for _, u := range after {
			assert.False(t, strings.ContainsAny(u.Username, "*()"), "no user %q", u.Username)
		}
	})
}
