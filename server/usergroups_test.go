package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/slapdtest"
	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// User groups are wired: an OIDC group's grants follow its rename and go
// with its deletion, in the real project store; without a directory the
// /ldap endpoints say so.
func TestUserGroupsWired(t *testing.T) {
	base := startWiringServer(t)
	st, _, body := wiringCall(t, base, http.MethodPost, "/projects", map[string]any{"project_name": "shop"})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	st, loc, body := wiringCall(t, base, http.MethodPost, "/usergroups", map[string]any{"group_name": "ops", "group_type": 3})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	group := "/usergroups/" + wiringLastID(t, loc)
	st, _, body = wiringCall(t, base, http.MethodPost, "/projects/shop/members", map[string]any{"role_id": 2,
		"member_group": map[string]any{"group_name": "ops"}})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	members := func() []string {
		st, _, body := wiringCall(t, base, http.MethodGet, "/projects/shop/members", nil)
		require.Equal(t, http.StatusOK, st, "%s", body)
		var ms []struct {
			EntityName string `json:"entity_name"`
		}
		require.NoError(t, json.Unmarshal(body, &ms))
		out := []string{}
		for _, m := range ms {
			out = append(out, m.EntityName)
		}
		return out
	}
	require.Contains(t, members(), "ops")
	// Harbor's clients name the group by its id alone.
	st, _, body = wiringCall(t, base, http.MethodPost, "/projects", map[string]any{"project_name": "shop2"})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	gid, err := strconv.ParseInt(wiringLastID(t, loc), 10, 64)
	require.NoError(t, err)
	st, _, body = wiringCall(t, base, http.MethodPost, "/projects/shop2/members", map[string]any{"role_id": 3,
		"member_group": map[string]any{"id": gid}})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	st, _, body = wiringCall(t, base, http.MethodGet, "/projects/shop2/members", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	assert.Contains(t, string(body), `"entity_name":"ops"`)
	// entity_id is the group's id, and the creator's user_id, as Harbor's
	// member listing reports them.
	st, _, body = wiringCall(t, base, http.MethodGet, "/projects/shop/members", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	var ms []struct {
		EntityName string `json:"entity_name"`
		EntityType string `json:"entity_type"`
		EntityID   int64  `json:"entity_id"`
	}
	require.NoError(t, json.Unmarshal(body, &ms))
	ids := map[string]int64{}
	for _, m := range ms {
		ids[m.EntityType+":"+m.EntityName] = m.EntityID
	}
	assert.Equal(t, wiringLastID(t, loc), strconv.FormatInt(ids["g:ops"], 10), "%s", body)
	assert.Equal(t, int64(1), ids["u:admin"], "%s", body)

	st, _, body = wiringCall(t, base, http.MethodPut, group, map[string]any{"group_name": "operations"})
	require.Equal(t, http.StatusOK, st, "%s", body)
	assert.Contains(t, members(), "operations")
	assert.NotContains(t, members(), "ops")
	st, _, body = wiringCall(t, base, http.MethodDelete, group, nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	assert.NotContains(t, members(), "operations")

	st, _, body = wiringCall(t, base, http.MethodPost, "/ldap/ping", nil)
	require.Equal(t, http.StatusBadRequest, st, "%s", body)
	assert.Contains(t, string(body), "LDAP is not configured")
}

// With ldap.config, the /ldap endpoints and LDAP user groups use the
// directory users log in against.
func TestLDAPEndpointsWired(t *testing.T) {
	dir := slapdtest.Start(t)
	cfgFile := filepath.Join(t.TempDir(), "ldap.json")
	b, err := json.Marshal(server.LDAPFile{URL: dir.URL, BindDN: slapdtest.SearchDN, BaseDN: slapdtest.BaseDN,
		UserFilter: "(objectClass=inetOrgPerson)", GroupBaseDN: slapdtest.GroupsDN,
		GroupFilter: "(objectClass=groupOfNames)", TimeoutSeconds: 5})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfgFile, b, 0o600))
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", wiringAdminPassword, "http://"+hs.Listener.Addr().String()
	cfg.Scan.Enabled, cfg.Replication.Enabled, cfg.Charts.Enabled = false, false, false
	cfg.LDAP.ConfigFile, cfg.LDAP.BindPassword = cfgFile, slapdtest.SearchPassword
	srv, err := server.New(t.Context(), cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close(t.Context())
	})

	st, _, body := wiringCall(t, hs.URL, http.MethodPost, "/ldap/ping", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	assert.JSONEq(t, `{"success":true}`, string(body))
	st, _, body = wiringCall(t, hs.URL, http.MethodPost, "/ldap/users/import", map[string]any{"ldap_uid_list": []string{"carol"}})
	require.Equal(t, http.StatusOK, st, "%s", body)
	st, _, body = wiringCall(t, hs.URL, http.MethodGet, "/users/carol", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	st, loc, body := wiringCall(t, hs.URL, http.MethodPost, "/usergroups",
		map[string]any{"group_type": 1, "ldap_group_dn": "CN=Org," + slapdtest.GroupsDN})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	st, _, body = wiringCall(t, hs.URL, http.MethodGet, "/usergroups/"+wiringLastID(t, loc), nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	assert.Contains(t, string(body), `"ldap_group_dn":"cn=org,ou=groups,dc=berth,dc=test"`)
}
