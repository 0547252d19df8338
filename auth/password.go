package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// HashParams are the argon2id cost parameters of new password hashes.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultHashParams returns OWASP's argon2id recommendation: 19 MiB, two
// passes, one thread. About 20-40 ms per hash on one core: a 2-core box
// still serves dozens of concurrent logins without exhausting memory,
// where 64 MiB × many logins would not.
func DefaultHashParams() HashParams {
	return HashParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters, both for configuration and for stored hashes, so a
// forged or corrupted hash cannot make a login allocate gigabytes or spin.
const (
	maxArgonMemory = 1 << 20 // KiB: 1 GiB
	maxArgonTime   = 64
	maxBcryptCost  = 16
	bcryptMaxBytes = 72
)

// ErrMalformedHash reports a stored hash that cannot be parsed.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// Validate reports parameters that are unsafe or unusable.
func (p HashParams) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgonTime:
		return fmt.Errorf("auth: argon2id time must be 1..%d, got %d", maxArgonTime, p.Time)
	case p.Threads < 1:
		return errors.New("auth: argon2id threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgonMemory:
		return fmt.Errorf("auth: argon2id memory must be %d..%d KiB, got %d", 8*uint32(p.Threads), maxArgonMemory, p.Memory)
	case p.SaltLen < 8 || p.SaltLen > 64:
		return fmt.Errorf("auth: argon2id salt must be 8..64 bytes, got %d", p.SaltLen)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return fmt.Errorf("auth: argon2id key must be 16..64 bytes, got %d", p.KeyLen)
	}
	return nil
}

// HashPassword hashes password with argon2id and a random salt, in PHC
// string format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded
// standard base64).
func HashPassword(password string, p HashParams) (string, error) {
	return hashPassword(argon2.IDKey, password, p)
}

// keyFunc derives an argon2id key: argon2.IDKey, or a test's counting hook.
type keyFunc func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

func hashPassword(idKey keyFunc, password string, p HashParams) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := idKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

func encodePHC(p HashParams, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports whether password matches encoded, an argon2id PHC
// string or a bcrypt hash ($2a$, $2b$, $2y$) imported from another system.
// Keys are compared in constant time. A hash that cannot be parsed is an
// error wrapping ErrMalformedHash, never a match.
func VerifyPassword(encoded, password string) (bool, error) {
	return verifyPassword(argon2.IDKey, encoded, password)
}

func verifyPassword(idKey keyFunc, encoded, password string) (bool, error) {
	if isBcrypt(encoded) {
		return verifyBcrypt(encoded, password)
	}
	p, salt, key, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	got := idKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded should be replaced by a hash made
// with p: it is bcrypt, malformed, or argon2id with other parameters.
// Callers rehash after a successful login, when the password is at hand.
func NeedsRehash(encoded string, p HashParams) bool {
	got, _, _, err := parsePHC(encoded)
	return err != nil || got != p
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

func verifyBcrypt(encoded, password string) (bool, error) {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	if cost > maxBcryptCost {
		return false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
	}
	// bcrypt reads only 72 bytes; refuse longer input rather than let a
	// password match on its prefix.
	if len(password) > bcryptMaxBytes {
		return false, nil
	}
	err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
}

// parsePHC parses $argon2id$v=19$m=M,t=T,p=P$salt$key strictly.
func parsePHC(s string) (HashParams, []byte, []byte, error) {
	var p HashParams
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported argon2 version %q", ErrMalformedHash, parts[2])
	}
	var m, t, threads uint32
	n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &threads)
	if err != nil || n != 3 || parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, threads) || threads > 255 {
		return p, nil, nil, fmt.Errorf("%w: bad parameters %q", ErrMalformedHash, parts[3])
	}
	salt, err1 := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return p, nil, nil, fmt.Errorf("%w: bad base64 salt or hash", ErrMalformedHash)
	}
	p = HashParams{Memory: m, Time: t, Threads: uint8(threads), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.Validate(); err != nil {
		return p, nil, nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}
