package token

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

const (
	testIssuer  = "https://reg.example.com/service/token"
	testService = "reg.example.com"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// testClock is a settable clock.
type testClock struct{ t atomic.Int64 }

func newClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}
func (c *testClock) set(t time.Time)     { c.t.Store(t.UnixNano()) }
func (c *testClock) now() time.Time      { return time.Unix(0, c.t.Load()).UTC() }
func (c *testClock) add(d time.Duration) { c.set(c.now().Add(d)) }

// env is a Service with its key and clock.
type env struct {
	svc   *Service
	key   *ecdsa.PrivateKey
	clock *testClock
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	k, err := GenerateKey()
	require.NoError(t, err)
	return newEnvKey(t, k, testService, opts...)
}

func newEnvKey(t *testing.T, k *ecdsa.PrivateKey, service string, opts ...Option) *env {
	t.Helper()
	c := newClock(t0)
	all := append([]Option{WithSigningKey(k, ""), WithClock(c.now)}, opts...)
	svc, err := New(testIssuer, service, all...)
	require.NoError(t, err)
	return &env{svc: svc, key: k, clock: c}
}

func repo(name string, actions ...string) registry.Access {
	return registry.Access{Type: registry.ResourceRepository, Name: name, Actions: actions}
}

func catalog() registry.Access {
	return registry.Access{Type: registry.ResourceRegistry, Name: "catalog", Actions: []string{"*"}}
}

func (e *env) issue(t *testing.T, sub string, access ...registry.Access) string {
	t.Helper()
	tok, err := e.svc.Issue(sub, access)
	require.NoError(t, err)
	return tok.Raw
}

// validClaims is a payload the env's service accepts at t0.
func validClaims() map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "alice", "aud": testService,
		"exp": t0.Add(DefaultTTL).Unix(), "nbf": t0.Unix(), "iat": t0.Unix(), "jti": "x",
		"access": []any{map[string]any{"type": "repository", "name": "a", "actions": []string{"pull"}}},
	}
}

func b64json(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

// craft builds a token from a header and claims, signed by k with alg.
func craft(t *testing.T, hdr, claims map[string]any, k crypto.Signer, alg string) string {
	t.Helper()
	input := b64json(t, hdr) + "." + b64json(t, claims)
	sig, err := signBytes(k, alg, []byte(input))
	require.NoError(t, err)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// craftValid signs claims with the env's key and kid.
func (e *env) craftValid(t *testing.T, claims map[string]any) string {
	t.Helper()
	return craft(t, map[string]any{"alg": "ES256", "kid": e.svc.KeyID(), "typ": "JWT"}, claims, e.key, "ES256")
}
