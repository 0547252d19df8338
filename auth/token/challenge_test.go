package token

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

const realm = "https://reg.example.com/service/token"

func TestChallenge(t *testing.T) {
	tests := []struct {
		name, realm, service string
		need                 []registry.Access
		code                 string
		want                 string
	}{
		{name: "ping", realm: realm, service: "berth",
			want: `Bearer realm="https://reg.example.com/service/token",service="berth"`},
		{name: "one scope", realm: realm, service: "berth", need: []registry.Access{repo("foo", "pull", "push")},
			want: `Bearer realm="https://reg.example.com/service/token",service="berth",scope="repository:foo:pull,push"`},
		{name: "insufficient scope", realm: realm, service: "berth", need: []registry.Access{repo("foo", "pull")},
			code: ErrCodeInsufficientScope,
			want: `Bearer realm="https://reg.example.com/service/token",service="berth",scope="repository:foo:pull",error="insufficient_scope"`},
		{name: "mount: two scopes, space-separated", realm: realm, service: "berth",
			need: []registry.Access{repo("to", "pull", "push"), repo("from", "pull")},
			want: `Bearer realm="https://reg.example.com/service/token",service="berth",scope="repository:to:pull,push repository:from:pull"`},
		{name: "duplicate resources merged", realm: realm, service: "berth",
			need: []registry.Access{repo("a", "pull"), repo("a", "push")},
			want: `Bearer realm="https://reg.example.com/service/token",service="berth",scope="repository:a:pull,push"`},
		{name: "catalog", realm: realm, service: "berth", need: []registry.Access{catalog()},
			want: `Bearer realm="https://reg.example.com/service/token",service="berth",scope="registry:catalog:*"`},
		{name: "quotes and backslashes escaped", realm: `https://h/"x"\y`, service: `a"b`,
			want: `Bearer realm="https://h/\"x\"\\y",service="a\"b"`},
		{name: "control characters removed", realm: "https://h/\r\nSet-Cookie: x", service: "s\x00\x7f",
			want: `Bearer realm="https://h/Set-Cookie: x",service="s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Challenge(tt.realm, tt.service, tt.need, tt.code))
		})
	}
}

func TestVerifyRequest(t *testing.T) {
	e := newEnv(t)
	pull := e.issue(t, "alice", repo("a", "pull"))
	need := []registry.Access{repo("a", "pull", "push")}
	wantChallenge := `Bearer realm="` + realm + `",service="reg.example.com",scope="repository:a:pull,push"`
	tests := []struct {
		name      string
		auth      string
		need      []registry.Access
		wantErr   error
		challenge string // "" when allowed
		message   string
	}{
		{name: "allowed", auth: "Bearer " + pull, need: []registry.Access{repo("a", "pull")}},
		{name: "scheme is case-insensitive", auth: "bearer " + pull, need: []registry.Access{repo("a", "pull")}},
		{name: "ping with any valid token", auth: "Bearer " + pull, need: nil},
		{name: "no header", need: need, wantErr: ErrNoToken, challenge: wantChallenge,
			message: "authentication required"},
		{name: "basic is not a bearer token", auth: "Basic YWxpY2U6cHc=", need: need, wantErr: ErrNoToken,
			challenge: wantChallenge, message: "authentication required"},
		{name: "empty bearer", auth: "Bearer ", need: need, wantErr: ErrNoToken, challenge: wantChallenge,
			message: "authentication required"},
		{name: "invalid token", auth: "Bearer x.y.z", need: need, wantErr: ErrMalformed,
			challenge: wantChallenge + `,error="invalid_token"`, message: "invalid token: malformed: header: illegal base64 data at input byte 0"},
		{name: "insufficient scope", auth: "Bearer " + pull, need: need, wantErr: ErrInsufficientScope,
			challenge: wantChallenge + `,error="insufficient_scope"`, message: "insufficient scope: missing repository:a:push"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/v2/", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			c, err := e.svc.VerifyRequest(r, tt.need)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, "alice", c.Subject)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			rerr := e.svc.Unauthorized(realm, tt.need, err)
			assert.Equal(t, http.StatusUnauthorized, rerr.Status)
			assert.Equal(t, registry.CodeUnauthorized, rerr.Code)
			assert.Equal(t, tt.challenge, rerr.Header.Get("WWW-Authenticate"))
			assert.Equal(t, tt.message, rerr.Message)
		})
	}
}

func TestUnauthorizedDetail(t *testing.T) {
	e := newEnv(t)
	rerr := e.svc.Unauthorized(realm, nil, &ScopeError{Missing: []registry.Access{repo("b", "pull")}})
	assert.Equal(t, []registry.Access{repo("b", "pull")}, rerr.Detail)
	assert.Equal(t, `Bearer realm="`+realm+`",service="reg.example.com",error="insufficient_scope"`,
		rerr.Header.Get("WWW-Authenticate"))
}
