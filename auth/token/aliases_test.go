package token

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServiceAliases(t *testing.T) {
	e := newEnv(t, WithServiceAliases(HarborService))
	h := e.svc.Handler(testUsers, testPolicy)
	for _, svc := range []string{"reg.example.com", HarborService} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newTokenRequest("", "service="+svc+"&scope=repository:alice/x:pull", "alice", "secret", ""))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var body struct{ Token string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		c, err := e.svc.Verify(body.Token)
		require.NoError(t, err, "service %s", svc)
		assert.Equal(t, []string{"reg.example.com"}, c.Audience, "the audience is the service's own name, whatever the request named")
	}

	rec := httptest.NewRecorder()
	newEnv(t).svc.Handler(testUsers, testPolicy).ServeHTTP(rec, newTokenRequest("", "service="+HarborService, "", "", ""))
	assert.Equal(t, http.StatusBadRequest, rec.Code, "without the alias, Harbor's name is another service")

	k, err := GenerateKey()
	require.NoError(t, err)
	_, err = New(testIssuer, "reg.example.com", WithSigningKey(k, ""), WithServiceAliases(""))
	assert.ErrorContains(t, err, "empty service alias")
}

func TestDisabledAccountIsToldSo(t *testing.T) {
	users := AuthenticatorFunc(func(_ context.Context, u, p string) (Identity, error) {
		switch {
		case p != "secret":
			return Identity{}, ErrInvalidCredentials
		case u == "robot$off":
			return Identity{}, fmt.Errorf("robot %q: %w", u, ErrAccountDisabled)
		case u == "robot$old":
			return Identity{}, fmt.Errorf("robot %q: %w", u, ErrAccountExpired)
		}
		return Identity{Subject: u}, nil
	})
	e := newEnv(t)
	for _, tt := range []struct{ user, pass, want string }{
		{"robot$off", "secret", "account disabled"},
		{"robot$old", "secret", "account expired"},
		{"robot$off", "wrong", "invalid username or password"},
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			query := "service=reg.example.com"
			user, pass := tt.user, tt.pass
			if method == http.MethodPost {
				query += "&grant_type=password&username=" + tt.user + "&password=" + tt.pass
				user, pass = "", ""
			}
			rec := httptest.NewRecorder()
			e.svc.Handler(users, testPolicy).ServeHTTP(rec, newTokenRequest(method, query, user, pass, ""))
			require.Equal(t, http.StatusUnauthorized, rec.Code, "%s %s", method, tt.user)
			var body oauthError
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, "unauthorized", body.Code)
			assert.Contains(t, body.Description, tt.want, "%s %s/%s", method, tt.user, tt.pass)
			assert.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
		}
	}
}
