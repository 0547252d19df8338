package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

// testUsers: alice/secret; "broken" makes the authenticator fail.
var testUsers = AuthenticatorFunc(func(_ context.Context, u, p string) (Identity, error) {
	switch {
	case u == "broken":
		return Identity{}, errors.New("directory unreachable")
	case u == "alice" && p == "secret":
		return Identity{Subject: "alice"}, nil
	}
	return Identity{}, fmt.Errorf("user %q: %w", u, ErrInvalidCredentials)
})

// testPolicy: anyone may pull public/*; alice may also pull and push alice/*.
var testPolicy = AuthorizerFunc(func(_ context.Context, id *Identity, req []registry.Access) []registry.Access {
	var out []registry.Access
	for _, a := range req {
		switch {
		case strings.HasPrefix(a.Name, "public/"):
			out = append(out, repo(a.Name, "pull"))
		case id != nil && id.Subject == "alice" && strings.HasPrefix(a.Name, "alice/"):
			out = append(out, repo(a.Name, "pull", "push"))
		}
	}
	return out
})

// greedyPolicy misbehaves: it grants everything on every repository it can name.
var greedyPolicy = AuthorizerFunc(func(context.Context, *Identity, []registry.Access) []registry.Access {
	return []registry.Access{repo("public/x", "*"), repo("alice/x", "*"), repo("other", "*"), catalog()}
})

func TestHandler(t *testing.T) {
	many := strings.TrimSpace(strings.Repeat("repository:public/x:pull ", MaxScopes))
	tests := []struct {
		name       string
		method     string
		query      string // GET query or POST form
		user, pass string // Basic credentials on GET when user != ""
		header     string // raw Authorization header
		policy     Authorizer
		status     int
		errCode    string
		subject    string
		access     []registry.Access
	}{
		{name: "anonymous", query: "service=reg.example.com&scope=repository:public/x:pull",
			status: 200, access: []registry.Access{repo("public/x", "pull")}},
		{name: "anonymous asking for push gets pull only", query: "service=reg.example.com&scope=repository:public/x:pull,push",
			status: 200, access: []registry.Access{repo("public/x", "pull")}},
		{name: "anonymous on a private repository gets nothing", query: "service=reg.example.com&scope=repository:alice/x:pull",
			status: 200},
		{name: "anonymous login, no scope", query: "service=reg.example.com", status: 200},
		{name: "good basic", query: "service=reg.example.com&scope=repository:alice/x:pull,push&account=alice",
			user: "alice", pass: "secret", status: 200, subject: "alice",
			access: []registry.Access{repo("alice/x", "pull", "push")}},
		{name: "scope wider than the authorizer allows", user: "alice", pass: "secret",
			query:  "service=reg.example.com&scope=repository:alice/x:pull,push,delete&scope=repository:bob/y:pull&scope=registry:catalog:*",
			status: 200, subject: "alice", access: []registry.Access{repo("alice/x", "pull", "push")}},
		{name: "misbehaving authorizer is intersected", policy: greedyPolicy, user: "alice", pass: "secret",
			query:  "service=reg.example.com&scope=repository:alice/x:pull",
			status: 200, subject: "alice", access: []registry.Access{repo("alice/x", "pull")}},
		{name: "space-separated scopes in one parameter", user: "alice", pass: "secret",
			query:  "service=reg.example.com&scope=" + url.QueryEscape("repository:alice/x:push repository:public/x:pull"),
			status: 200, subject: "alice", access: []registry.Access{repo("alice/x", "push"), repo("public/x", "pull")}},
		{name: "many scopes", query: "service=reg.example.com&scope=" + url.QueryEscape(many),
			status: 200, access: []registry.Access{repo("public/x", "pull")}},
		{name: "too many scopes", query: "service=reg.example.com&scope=" + url.QueryEscape(many+" registry:catalog:*"),
			status: 400, errCode: "invalid_scope"},
		{name: "bad basic password", query: "service=reg.example.com&scope=repository:alice/x:pull",
			user: "alice", pass: "wrong", status: 401, errCode: "unauthorized"},
		{name: "bad basic user", query: "service=reg.example.com", user: "mallory", pass: "secret",
			status: 401, errCode: "unauthorized"},
		{name: "not basic", query: "service=reg.example.com", header: "Bearer abc", status: 401, errCode: "unauthorized"},
		{name: "authenticator failure", query: "service=reg.example.com", user: "broken", pass: "x",
			status: 500, errCode: "server_error"},
		{name: "bad scope", query: "service=reg.example.com&scope=repository:Foo:pull", status: 400, errCode: "invalid_scope"},
		{name: "wrong service", query: "service=other&scope=repository:public/x:pull", status: 400, errCode: "invalid_request"},
		{name: "missing service", query: "scope=repository:public/x:pull", status: 400, errCode: "invalid_request"},
		{name: "two services", query: "service=reg.example.com&service=other", status: 400, errCode: "invalid_request"},
		{name: "account mismatch", query: "service=reg.example.com&account=bob", user: "alice", pass: "secret",
			status: 400, errCode: "invalid_request"},
		{name: "malformed query", query: "service=reg.example.com&scope=%zz", status: 400, errCode: "invalid_request"},
		{name: "query too long", query: "service=reg.example.com&x=" + strings.Repeat("a", maxQuery), status: 400,
			errCode: "invalid_request"},
		{name: "POST password grant", method: http.MethodPost,
			query:  "grant_type=password&username=alice&password=secret&client_id=docker&service=reg.example.com&scope=" + url.QueryEscape("repository:alice/x:pull repository:public/x:pull"),
			status: 200, subject: "alice", access: []registry.Access{repo("alice/x", "pull"), repo("public/x", "pull")}},
		{name: "POST wrong password", method: http.MethodPost,
			query:  "grant_type=password&username=alice&password=nope&service=reg.example.com",
			status: 401, errCode: "unauthorized"},
		{name: "POST refresh_token grant", method: http.MethodPost,
			query:  "grant_type=refresh_token&refresh_token=x&service=reg.example.com",
			status: 400, errCode: "unsupported_grant_type"},
		{name: "POST body too large", method: http.MethodPost,
			query:  "grant_type=password&username=alice&password=secret&service=reg.example.com&x=" + strings.Repeat("a", maxQuery),
			status: 400, errCode: "invalid_request"},
		{name: "PUT", method: http.MethodPut, query: "service=reg.example.com", status: 405, errCode: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			policy := tt.policy
			if policy == nil {
				policy = testPolicy
			}
			rec := httptest.NewRecorder()
			e.svc.Handler(testUsers, policy).ServeHTTP(rec, newTokenRequest(tt.method, tt.query, tt.user, tt.pass, tt.header))

			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			var body map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			if tt.errCode != "" {
				assert.Equal(t, tt.errCode, body["error"])
				assert.NotContains(t, body, "token")
				assert.NotContains(t, body, "access_token")
				if tt.status == http.StatusUnauthorized {
					assert.Equal(t, `Basic realm="reg.example.com"`, rec.Header().Get("WWW-Authenticate"))
				}
				return
			}
			assert.Equal(t, body["token"], body["access_token"])
			assert.Equal(t, float64(300), body["expires_in"])
			assert.Equal(t, "2025-03-04T05:06:07Z", body["issued_at"])
			c, err := e.svc.Verify(body["token"].(string))
			require.NoError(t, err)
			assert.Equal(t, tt.subject, c.Subject)
			if tt.access == nil {
				assert.Empty(t, c.Access)
			} else {
				assert.Equal(t, tt.access, c.Access)
			}
			if tt.method == http.MethodPost {
				assert.Equal(t, FormatScope(tt.access), body["scope"])
			}
		})
	}
}

func TestHandlerNilHooks(t *testing.T) {
	e := newEnv(t)
	h := e.svc.Handler(nil, nil)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newTokenRequest("", "service=reg.example.com&scope=repository:public/x:pull", "", "", ""))
	require.Equal(t, http.StatusOK, rec.Code)
	var body struct{ Token string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	c, err := e.svc.Verify(body.Token)
	require.NoError(t, err)
	assert.Empty(t, c.Access, "a nil Authorizer grants nothing")

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, newTokenRequest("", "service=reg.example.com", "alice", "secret", ""))
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "a nil Authenticator refuses credentials")
}

func newTokenRequest(method, query, user, pass, header string) *http.Request {
	if method == "" {
		method = http.MethodGet
	}
	var r *http.Request
	if method == http.MethodPost {
		r = httptest.NewRequest(method, "/service/token", strings.NewReader(query))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, "/service/token?"+query, nil)
	}
	if user != "" {
		r.SetBasicAuth(user, pass)
	}
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	return r
}
