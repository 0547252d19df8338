package token

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

func TestVerify(t *testing.T) {
	rk := rsaKey(t)
	tests := []struct {
		name    string
		token   func(t *testing.T, e *env) string
		at      time.Duration // verification time after t0
		wantErr error
	}{
		{name: "round trip", token: func(t *testing.T, e *env) string { return e.issue(t, "alice", repo("a", "pull")) }},
		{name: "just before expiry", at: DefaultTTL - time.Second,
			token: func(t *testing.T, e *env) string { return e.issue(t, "alice", repo("a", "pull")) }},
		{name: "expired but within leeway", at: DefaultTTL + DefaultLeeway - time.Second,
			token: func(t *testing.T, e *env) string { return e.issue(t, "alice", repo("a", "pull")) }},
		{name: "expired", at: DefaultTTL + DefaultLeeway, wantErr: ErrExpired,
			token: func(t *testing.T, e *env) string { return e.issue(t, "alice", repo("a", "pull")) }},
		{name: "not yet valid", wantErr: ErrNotYetValid, token: func(t *testing.T, e *env) string {
			e.clock.add(2 * time.Minute)
			defer e.clock.set(t0)
			return e.issue(t, "alice", repo("a", "pull"))
		}},
		{name: "not yet valid within leeway", token: func(t *testing.T, e *env) string {
			e.clock.add(DefaultLeeway)
			defer e.clock.set(t0)
			return e.issue(t, "alice", repo("a", "pull"))
		}},
		{name: "alg none", wantErr: ErrAlgorithm, token: func(t *testing.T, e *env) string {
			h := map[string]any{"alg": "none", "kid": e.svc.KeyID(), "typ": "JWT"}
			return b64json(t, h) + "." + b64json(t, validClaims()) + "."
		}},
		{name: "HS256 with the public key as secret", wantErr: ErrAlgorithm, token: func(t *testing.T, e *env) string {
			der, err := x509.MarshalPKIXPublicKey(&e.key.PublicKey)
			require.NoError(t, err)
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(validClaims()))
			tok.Header["kid"] = e.svc.KeyID()
			raw, err := tok.SignedString(secret)
			require.NoError(t, err)
			return raw
		}},
		{name: "algorithm of another known key", wantErr: ErrAlgorithm, token: func(t *testing.T, e *env) string {
			// The service also knows an RSA key, so RS256 is accepted, but not
			// with the ES256 key's kid.
			h := map[string]any{"alg": "RS256", "kid": e.svc.KeyID(), "typ": "JWT"}
			return craft(t, h, validClaims(), rk, "RS256")
		}},
		{name: "wrong signing key, same kid", wantErr: ErrInvalidSignature, token: func(t *testing.T, e *env) string {
			other, err := GenerateKey()
			require.NoError(t, err)
			return craft(t, map[string]any{"alg": "ES256", "kid": e.svc.KeyID()}, validClaims(), other, "ES256")
		}},
		{name: "unknown kid", wantErr: ErrUnknownKey, token: func(t *testing.T, e *env) string {
			other := newEnv(t)
			return other.issue(t, "alice", repo("a", "pull"))
		}},
		{name: "no kid", wantErr: ErrUnknownKey, token: func(t *testing.T, e *env) string {
			return craft(t, map[string]any{"alg": "ES256"}, validClaims(), e.key, "ES256")
		}},
		{name: "tampered claims", wantErr: ErrInvalidSignature, token: func(t *testing.T, e *env) string {
			parts := strings.Split(e.issue(t, "alice", repo("a", "pull")), ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			require.NoError(t, err)
			forged := strings.Replace(string(payload), `"pull"`, `"push"`, 1)
			require.NotEqual(t, string(payload), forged)
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
			return strings.Join(parts, ".")
		}},
		{name: "tampered header kid", wantErr: ErrUnknownKey, token: func(t *testing.T, e *env) string {
			parts := strings.Split(e.issue(t, "alice", repo("a", "pull")), ".")
			parts[0] = b64json(t, map[string]any{"alg": "ES256", "kid": "forged"})
			return strings.Join(parts, ".")
		}},
		{name: "wrong audience", wantErr: ErrWrongAudience, token: func(t *testing.T, e *env) string {
			other := newEnvKey(t, e.key, "other.example.com")
			return other.issue(t, "alice", repo("a", "pull"))
		}},
		{name: "wrong issuer", wantErr: ErrWrongIssuer, token: func(t *testing.T, e *env) string {
			c := validClaims()
			c["iss"] = "https://evil.example.com"
			return e.craftValid(t, c)
		}},
		{name: "audience array", token: func(t *testing.T, e *env) string {
			c := validClaims()
			c["aud"] = []string{"x", testService}
			return e.craftValid(t, c)
		}},
		{name: "unknown claim", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string {
			c := validClaims()
			c["admin"] = true
			return e.craftValid(t, c)
		}},
		{name: "missing exp", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string {
			c := validClaims()
			delete(c, "exp")
			return e.craftValid(t, c)
		}},
		{name: "fractional exp", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string {
			c := validClaims()
			c["exp"] = float64(t0.Unix()) + 0.5
			return e.craftValid(t, c)
		}},
		{name: "invalid access entry", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string {
			c := validClaims()
			c["access"] = []any{map[string]any{"type": "repository", "name": "A:b", "actions": []string{"pull"}}}
			return e.craftValid(t, c)
		}},
		{name: "lifetime longer than MaxTTL", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string {
			c := validClaims()
			c["exp"] = t0.Add(MaxTTL + time.Second).Unix()
			return e.craftValid(t, c)
		}},
		{name: "unknown header member", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string {
			h := map[string]any{"alg": "ES256", "kid": e.svc.KeyID(), "jku": "https://evil.example.com/keys"}
			return craft(t, h, validClaims(), e.key, "ES256")
		}},
		{name: "two segments", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string { return "a.b" }},
		{name: "empty", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string { return "" }},
		{name: "too long", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string {
			return strings.Repeat("a", MaxTokenLength+1)
		}},
		{name: "padded base64", wantErr: ErrMalformed, token: func(t *testing.T, e *env) string {
			parts := strings.Split(e.issue(t, "alice", repo("a", "pull")), ".")
			parts[2] += "=="
			return strings.Join(parts, ".")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, WithVerificationKey(rk.Public(), "rsa"))
			raw := tt.token(t, e)
			e.clock.set(t0.Add(tt.at))
			c, err := e.svc.Verify(raw)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "alice", c.Subject)
			assert.Equal(t, testIssuer, c.Issuer)
			assert.Contains(t, c.Audience, testService)
			assert.Equal(t, e.svc.KeyID(), c.KeyID)
			assert.NoError(t, c.Allows(nil))
		})
	}
}

func TestIssueClaims(t *testing.T) {
	e := newEnv(t)
	tok, err := e.svc.Issue("robot$ci", []registry.Access{repo("a/b", "pull"), repo("a/b", "push", "pull"), catalog(), repo("c")})
	require.NoError(t, err)
	assert.Equal(t, 300, tok.ExpiresIn)
	assert.Equal(t, t0, tok.IssuedAt)

	c, err := e.svc.Verify(tok.Raw)
	require.NoError(t, err)
	assert.Equal(t, "robot$ci", c.Subject)
	assert.Equal(t, []registry.Access{repo("a/b", "pull", "push"), catalog()}, c.Access)
	assert.Equal(t, t0.Add(DefaultTTL), c.ExpiresAt)
	assert.Equal(t, t0, c.NotBefore)
	assert.Equal(t, t0, c.IssuedAt)
	assert.NotEmpty(t, c.ID)

	again, err := e.svc.Issue("robot$ci", nil)
	require.NoError(t, err)
	c2, err := e.svc.Verify(again.Raw)
	require.NoError(t, err)
	assert.NotEqual(t, c.ID, c2.ID, "jti is random")
	assert.Empty(t, c2.Access)

	// The payload has the spec's shape.
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok.Raw, ".")[1])
	require.NoError(t, err)
	assert.Contains(t, string(payload), `"aud":"reg.example.com"`)
	assert.Contains(t, string(payload), `"access":[{"type":"repository","name":"a/b","actions":["pull","push"]}`)
}

func TestIssueRefusesInvalid(t *testing.T) {
	e := newEnv(t)
	for name, acc := range map[string]registry.Access{
		"bad name":         repo("A", "pull"),
		"unknown action":   repo("a", "scan"),
		"unknown type":     {Type: "plugin", Name: "a", Actions: []string{"pull"}},
		"catalog non-star": {Type: "registry", Name: "catalog", Actions: []string{"pull"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Issue("alice", []registry.Access{acc})
			require.ErrorIs(t, err, ErrInvalidScope)
		})
	}
	_, err := e.svc.Issue("bad\nsubject", nil)
	require.Error(t, err)
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

// A cached verification still checks expiry and never outlives the token.
func TestVerifyCacheHonoursExpiry(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	key, err := GenerateKey()
	require.NoError(t, err)
	s, err := New("iss", "svc", WithSigningKey(key, ""), WithClock(clock), WithLeeway(0))
	require.NoError(t, err)
	tok, err := s.Issue("alice", nil)
	require.NoError(t, err)
	for range 2 { // miss, then hit
		c, err := s.Verify(tok.Raw)
		require.NoError(t, err)
		c.Subject = "mallory" // a caller's change must not reach the cache
	}
	c, err := s.Verify(tok.Raw)
	require.NoError(t, err)
	assert.Equal(t, "alice", c.Subject)
	now = now.Add(time.Duration(tok.ExpiresIn+1) * time.Second)
	_, err = s.Verify(tok.Raw)
	assert.ErrorIs(t, err, ErrExpired)
	tampered := tok.Raw[:len(tok.Raw)-2] + "AA"
	_, err = s.Verify(tampered)
	assert.Error(t, err, "another string is not a cache hit")
}
