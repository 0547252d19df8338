package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSaveLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.pem")
	k, err := GenerateKey()
	require.NoError(t, err)
	require.NoError(t, SaveKey(path, k))

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----"), "PKCS#8")

	loaded, err := LoadKey(path)
	require.NoError(t, err)
	assert.True(t, k.Equal(loaded))

	require.ErrorIs(t, SaveKey(path, k), os.ErrExist, "never overwrites")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.pem")
	k1, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	k2, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	assert.True(t, k1.(*ecdsa.PrivateKey).Equal(k2))

	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), "bad.pem"), []byte("nope"), 0o600))
	_, err = LoadOrCreateKey(filepath.Join(filepath.Dir(path), "bad.pem"))
	require.Error(t, err, "an unreadable key is an error, not replaced")
}

func TestKeyTypes(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for name, k := range map[string]crypto.Signer{"RS256": rsaKey(t), "ES384": p384, "EdDSA": ed} {
		t.Run(name, func(t *testing.T) {
			svc, err := New(testIssuer, testService, WithSigningKey(k, ""))
			require.NoError(t, err)
			tok, err := svc.Issue("alice", nil)
			require.NoError(t, err)
			c, err := svc.Verify(tok.Raw)
			require.NoError(t, err)
			assert.Equal(t, "alice", c.Subject)

			pemData, err := MarshalKey(k)
			require.NoError(t, err)
			back, err := ParseKey(pemData)
			require.NoError(t, err)
			assert.True(t, samePublic(k.Public(), back.Public()))
		})
	}
}

func TestNewRefuses(t *testing.T) {
	k, err := GenerateKey()
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	other, err := GenerateKey()
	require.NoError(t, err)
	tests := map[string][]Option{
		"no signing key":         nil,
		"TTL too short":          {WithSigningKey(k, ""), WithTTL(time.Second)},
		"TTL too long":           {WithSigningKey(k, ""), WithTTL(2 * time.Hour)},
		"negative leeway":        {WithSigningKey(k, ""), WithLeeway(-time.Second)},
		"RSA key too short":      {WithSigningKey(small, "")},
		"unsupported public key": {WithSigningKey(k, ""), WithVerificationKey("not a key", "")},
		"one kid for two keys":   {WithSigningKey(k, "k1"), WithVerificationKey(other.Public(), "k1")},
		"nil clock":              {WithSigningKey(k, ""), WithClock(nil)},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			svc, err := New(testIssuer, testService, opts...)
			require.Error(t, err)
			assert.Nil(t, svc)
		})
	}
	_, err = New("", testService, WithSigningKey(k, ""))
	require.Error(t, err)
}

func TestRotation(t *testing.T) {
	oldKey, err := GenerateKey()
	require.NoError(t, err)
	newKey, err := GenerateKey()
	require.NoError(t, err)
	clock := newClock(t0)
	build := func(opts ...Option) *Service {
		svc, err := New(testIssuer, testService, append(opts, WithClock(clock.now))...)
		require.NoError(t, err)
		return svc
	}
	before := build(WithSigningKey(oldKey, ""))
	during := build(WithSigningKey(newKey, ""), WithVerificationKey(oldKey.Public(), ""))
	after := build(WithSigningKey(newKey, ""))

	oldTok, err := before.Issue("alice", nil)
	require.NoError(t, err)
	newTok, err := during.Issue("alice", nil)
	require.NoError(t, err)

	c, err := during.Verify(oldTok.Raw)
	require.NoError(t, err, "old token verifies while the old key is a verification key")
	assert.Equal(t, before.KeyID(), c.KeyID)
	c, err = during.Verify(newTok.Raw)
	require.NoError(t, err)
	assert.Equal(t, during.KeyID(), c.KeyID, "signs with the new key")
	assert.NotEqual(t, before.KeyID(), during.KeyID())

	_, err = after.Verify(oldTok.Raw)
	require.ErrorIs(t, err, ErrUnknownKey, "old token refused once the old key is removed")
	_, err = after.Verify(newTok.Raw)
	require.NoError(t, err)
}
