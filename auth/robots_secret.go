package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Robot secrets are 32 random bytes (256 bits), shown once as unpadded
// base64url text (43 characters).
//
// They are stored as HMAC-SHA256 keyed with a per-robot random salt, not
// with argon2id like passwords. A slow hash exists to make guessing a
// low-entropy, human-chosen password expensive after a database leak; a
// 256-bit random secret cannot be guessed whatever the hash costs, so the
// slowness would buy nothing. And robots authenticate with Basic auth on
// every registry request (CI pulls and pushes in parallel), so an argon2id
// verification there — tens of milliseconds and 19 MiB each — would cap a
// node at a few dozen requests per second and make robot auth a memory
// exhaustion vector. The salt keeps equal secrets from hashing alike; the
// comparison is constant-time.
const (
	robotSecretBytes = 32
	robotSaltBytes   = 16
	robotHashScheme  = "hmac-sha256"
	maxSecretLen     = 256
)

// newRobotSecret returns a fresh secret and the text to store for it.
func newRobotSecret() (secret, stored string, err error) {
	buf := make([]byte, robotSecretBytes+robotSaltBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", "", fmt.Errorf("auth: robot secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(buf[:robotSecretBytes])
	salt := buf[robotSecretBytes:]
	b64 := base64.RawStdEncoding
	stored = robotHashScheme + "$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(robotMAC(salt, secret))
	return secret, stored, nil
}

func robotMAC(salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// verifyRobotSecret reports whether secret matches stored, in constant
// time. A malformed stored value never matches.
func verifyRobotSecret(stored, secret string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 3 || parts[0] != robotHashScheme {
		robotMAC(nil, secret)
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[1])
	want, err2 := b64.DecodeString(parts[2])
	got := robotMAC(salt, secret)
	return err1 == nil && err2 == nil && hmac.Equal(got, want)
}
