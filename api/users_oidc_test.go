package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// fakeOIDCUsers holds the OIDC records of the users it knows.
type fakeOIDCUsers map[string]api.OIDCUserRecord

func (f fakeOIDCUsers) OIDCUser(_ context.Context, username string) (api.OIDCUserRecord, bool, error) {
	rec, ok := f[username]
	return rec, ok, nil
}

func TestCurrentUserOIDCMeta(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := newEnv(t, api.WithOIDCUsers(fakeOIDCUsers{"alice": {Issuer: "https://idp.example", Subject: "u1",
		Secret: "Cli-Secret-1", CreatedAt: at, UpdatedAt: at}}))
	e.user("alice", "bob")

	var me api.UserResp
	e.do(as("alice"), http.MethodGet, "/users/current", nil).ok(t, http.StatusOK, &me)
	require.NotNil(t, me.OIDCUserMeta, "an OIDC user sees their own record")
	assert.Equal(t, api.OIDCUserInfo{ID: me.UserID, UserID: me.UserID, Subiss: "u1https://idp.example",
		Secret: "Cli-Secret-1", CreationTime: at, UpdateTime: at}, *me.OIDCUserMeta)

	// Never to others, nor in listings, nor for users without a record.
	for _, c := range []struct {
		who  cred
		path string
	}{{admin(), "/users/alice"}, {as("alice"), "/users/alice"}, {admin(), "/users"}, {admin(), "/users/search?username=ali"},
		{as("bob"), "/users/current"}, {admin(), "/users/current"}} {
		r := e.do(c.who, http.MethodGet, c.path, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", c.path, r.Body)
		assert.NotContains(t, string(r.Body), "oidc_user_meta", c.path)
		assert.NotContains(t, string(r.Body), "Cli-Secret-1", c.path)
	}
	e.do(anonymous, http.MethodGet, "/users/current", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
}
