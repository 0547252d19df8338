package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// fastParams keeps tests quick; production uses DefaultHashParams.
func fastParams() HashParams {
	return HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func TestHashPasswordRoundTrip(t *testing.T) {
	for _, p := range []HashParams{fastParams(), DefaultHashParams()} {
		h, err := HashPassword("correct horse", p)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(h, "$argon2id$v=19$"), h)

		ok, err := VerifyPassword(h, "correct horse")
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = VerifyPassword(h, "correct horsE")
		require.NoError(t, err)
		assert.False(t, ok)
		assert.False(t, NeedsRehash(h, p))

		h2, err := HashPassword("correct horse", p)
		require.NoError(t, err)
		assert.NotEqual(t, h, h2, "salts are random")
	}
	h, err := HashPassword("x", DefaultHashParams())
	require.NoError(t, err)
	assert.Contains(t, h, "$m=19456,t=2,p=1$", "OWASP parameters")
}

func TestParsePHC(t *testing.T) {
	good, err := HashPassword("pw", fastParams())
	require.NoError(t, err)
	p, salt, key, err := parsePHC(good)
	require.NoError(t, err)
	assert.Equal(t, fastParams(), p)
	assert.Len(t, salt, 16)
	assert.Len(t, key, 32)

	parts := strings.Split(good, "$")
	salt64, key64 := parts[4], parts[5]
	tests := map[string]string{
		"empty":              "",
		"plain text":         "hunter2",
		"argon2i":            "$argon2i$v=19$m=64,t=1,p=1$" + salt64 + "$" + key64,
		"argon2d":            "$argon2d$v=19$m=64,t=1,p=1$" + salt64 + "$" + key64,
		"old version":        "$argon2id$v=16$m=64,t=1,p=1$" + salt64 + "$" + key64,
		"no version":         "$argon2id$m=64,t=1,p=1$" + salt64 + "$" + key64,
		"params reordered":   "$argon2id$v=19$t=1,m=64,p=1$" + salt64 + "$" + key64,
		"params padded":      "$argon2id$v=19$m=064,t=1,p=1$" + salt64 + "$" + key64,
		"params trailing":    "$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt64 + "$" + key64,
		"negative":           "$argon2id$v=19$m=-64,t=1,p=1$" + salt64 + "$" + key64,
		"zero time":          "$argon2id$v=19$m=64,t=0,p=1$" + salt64 + "$" + key64,
		"zero threads":       "$argon2id$v=19$m=64,t=1,p=0$" + salt64 + "$" + key64,
		"threads overflow":   "$argon2id$v=19$m=64,t=1,p=256$" + salt64 + "$" + key64,
		"huge memory":        "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt64 + "$" + key64,
		"huge time":          "$argon2id$v=19$m=64,t=100000,p=1$" + salt64 + "$" + key64,
		"padded base64":      "$argon2id$v=19$m=64,t=1,p=1$" + salt64 + "==$" + key64,
		"bad base64":         "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key64,
		"short salt":         "$argon2id$v=19$m=64,t=1,p=1$YWJj$" + key64,
		"short key":          "$argon2id$v=19$m=64,t=1,p=1$" + salt64 + "$YWJj",
		"missing key":        "$argon2id$v=19$m=64,t=1,p=1$" + salt64,
		"extra field":        good + "$x",
		"no leading dollar":  strings.TrimPrefix(good, "$"),
		"bcrypt garbage":     "$2b$10$short",
		"bcrypt cost too hi": "$2b$31$" + strings.Repeat("a", 53),
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := VerifyPassword(h, "pw")
			assert.False(t, ok)
			assert.ErrorIs(t, err, ErrMalformedHash)
			assert.True(t, NeedsRehash(h, fastParams()))
		})
	}
}

func TestVerifyBcrypt(t *testing.T) {
	b, err := bcrypt.GenerateFromPassword([]byte("imported-pw"), bcrypt.MinCost)
	require.NoError(t, err)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		h := prefix + string(b[4:])
		ok, err := VerifyPassword(h, "imported-pw")
		require.NoError(t, err, prefix)
		assert.True(t, ok, prefix)
		ok, err = VerifyPassword(h, "imported-px")
		require.NoError(t, err, prefix)
		assert.False(t, ok, prefix)
		assert.True(t, NeedsRehash(h, fastParams()), "bcrypt is upgraded to argon2id")
	}
	// bcrypt reads 72 bytes only: a longer password must not match on
	// its prefix.
	long := strings.Repeat("a", 72)
	b, err = bcrypt.GenerateFromPassword([]byte(long), bcrypt.MinCost)
	require.NoError(t, err)
	ok, err := VerifyPassword(string(b), long+"tail")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestNeedsRehashOnParameterChange(t *testing.T) {
	h, err := HashPassword("pw", fastParams())
	require.NoError(t, err)
	stronger := fastParams()
	stronger.Time = 2
	assert.True(t, NeedsRehash(h, stronger))
	assert.True(t, NeedsRehash(h, DefaultHashParams()))
}

func TestHashParamsValidate(t *testing.T) {
	tests := map[string]func(p *HashParams){
		"zero time":    func(p *HashParams) { p.Time = 0 },
		"no threads":   func(p *HashParams) { p.Threads = 0 },
		"tiny memory":  func(p *HashParams) { p.Memory = 4 },
		"huge memory":  func(p *HashParams) { p.Memory = 4 << 20 },
		"short salt":   func(p *HashParams) { p.SaltLen = 4 },
		"short key":    func(p *HashParams) { p.KeyLen = 8 },
		"huge key":     func(p *HashParams) { p.KeyLen = 1024 },
		"huge time":    func(p *HashParams) { p.Time = 1000 },
		"memory < 8*p": func(p *HashParams) { p.Threads, p.Memory = 4, 16 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			p := DefaultHashParams()
			mutate(&p)
			assert.Error(t, p.Validate())
			_, err := HashPassword("pw", p)
			assert.Error(t, err)
		})
	}
	assert.NoError(t, DefaultHashParams().Validate())
}

func TestPasswordPolicy(t *testing.T) {
	tests := []struct {
		name     string
		policy   PasswordPolicy
		password string
		wantErr  string
	}{
		{"ok", DefaultPasswordPolicy(), "12345678", ""},
		{"too short", DefaultPasswordPolicy(), "1234567", "at least 8 characters, got 7"},
		{"empty", DefaultPasswordPolicy(), "", "at least 8 characters, got 0"},
		{"max", DefaultPasswordPolicy(), strings.Repeat("x", 128), ""},
		{"too long", DefaultPasswordPolicy(), strings.Repeat("x", 129), "at most 128 characters, got 129"},
		{"characters not bytes", DefaultPasswordPolicy(), "pässwörd", ""},
		{"multibyte too long", DefaultPasswordPolicy(), strings.Repeat("é", 129), "at most 128"},
		{"invalid utf-8", DefaultPasswordPolicy(), "abcdefgh\xff", "UTF-8"},
		{"custom min", PasswordPolicy{MinLength: 12, MaxLength: 64}, "12345678901", "at least 12"},
		{"custom max", PasswordPolicy{MinLength: 1, MaxLength: 4}, "12345", "at most 4"},
		{"no max", PasswordPolicy{MinLength: 1}, strings.Repeat("x", 1000), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.password)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrPasswordPolicy)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}
