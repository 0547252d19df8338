package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth/oidc"
	"github.com/berthlabs/berth/core"
)

// fakeOIDC keeps CLI secrets of the users it was told are OIDC users,
// with auth/oidc's rule for secrets.
type fakeOIDC struct {
	mu      sync.Mutex
	secrets map[string]string
	pinged  []string
}

func (f *fakeOIDC) SetCLISecret(_ context.Context, username, secret string) error {
	if err := oidc.ValidSecret(secret); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.secrets[username]; !ok {
		return core.New(core.ErrPrecondition, "user "+username+" was not onboarded through OIDC")
	}
	f.secrets[username] = secret
	return nil
}

func (f *fakeOIDC) Ping(_ context.Context, issuer string, verify bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pinged = append(f.pinged, issuer)
	if strings.Contains(issuer, "down") {
		return errors.New("connection refused")
	}
	return nil
}

func TestSetCliSecret(t *testing.T) {
	f := &fakeOIDC{secrets: map[string]string{"alice": ""}}
	e := newEnv(t, api.WithOIDC(f))
	e.user("alice", "bob")
	good := api.OIDCCliSecretReq{Secret: "New-Secret-1"}

	r := e.do(as("alice"), http.MethodPut, "/users/alice/cli_secret", good)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, "New-Secret-1", f.secrets["alice"])
	r = e.do(admin(), http.MethodPut, "/users/alice/cli_secret", api.OIDCCliSecretReq{Secret: "Admin-Set-2"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, "Admin-Set-2", f.secrets["alice"])

	r = e.do(as("bob"), http.MethodPut, "/users/alice/cli_secret", good)
	require.Equal(t, http.StatusForbidden, r.Status, "another user's secret: %s", r.Body)
	r = e.do(anonymous, http.MethodPut, "/users/alice/cli_secret", good)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, "Admin-Set-2", f.secrets["alice"])

	r = e.do(as("alice"), http.MethodPut, "/users/alice/cli_secret", api.OIDCCliSecretReq{Secret: "weak"})
	require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
	require.Contains(t, string(r.Body), "upper-case")
	r = e.do(as("alice"), http.MethodPut, "/users/alice/cli_secret", `{"secret":12}`)
	require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
	r = e.do(as("alice"), http.MethodPut, "/users/alice/cli_secret", `{"secret":"New-Secret-1"}`, "Content-Type", "text/plain")
	require.Equal(t, http.StatusUnsupportedMediaType, r.Status, string(r.Body))
	r = e.do(as("bob"), http.MethodPut, "/users/bob/cli_secret", good)
	require.Equal(t, http.StatusPreconditionFailed, r.Status, "bob is a local user: %s", r.Body)
	r = e.do(admin(), http.MethodPut, "/users/nobody/cli_secret", good)
	require.Equal(t, http.StatusNotFound, r.Status, string(r.Body))
}

func TestPingOIDC(t *testing.T) {
	f := &fakeOIDC{}
	e := newEnv(t, api.WithOIDC(f))
	e.user("alice")
	r := e.do(admin(), http.MethodPost, "/system/oidc/ping", map[string]any{"url": "https://idp.example", "verify_cert": true})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do(admin(), http.MethodPost, "/system/oidc/ping", map[string]any{"url": "https://down.example"})
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Contains(t, string(r.Body), "connection refused")
	for _, bad := range []string{`{"url":"ftp://x"}`, `{"url":""}`, `{"url":"https://u:p@idp"}`, `{"url":1}`, `[`} {
		r = e.do(admin(), http.MethodPost, "/system/oidc/ping", bad)
		require.Equal(t, http.StatusBadRequest, r.Status, bad)
	}
	r = e.do(as("alice"), http.MethodPost, "/system/oidc/ping", map[string]any{"url": "https://idp.example"})
	require.Equal(t, http.StatusForbidden, r.Status)
	require.Equal(t, []string{"https://idp.example", "https://down.example"}, f.pinged, "only valid admin requests reach the provider")

	// Both operations are in the OpenAPI document under Harbor's ids.
	r = e.do(anonymous, http.MethodGet, "/openapi.json", nil)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string   `json:"operationId"`
			Tags        []string `json:"tags"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &doc))
	require.Equal(t, "setCliSecret", doc.Paths["/users/{username}/cli_secret"]["put"].OperationID)
	require.Equal(t, "pingOIDC", doc.Paths["/system/oidc/ping"]["post"].OperationID)
	require.Equal(t, []string{"oidc"}, doc.Paths["/system/oidc/ping"]["post"].Tags)
}
