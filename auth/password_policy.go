package auth

import (
	"fmt"
	"unicode/utf8"

	"github.com/berthlabs/berth/core"
)

// ErrPasswordPolicy is wrapped by every password policy violation; the
// message says what to change.
var ErrPasswordPolicy = core.New(core.ErrInvalid, "password does not meet the policy")

// PasswordPolicy bounds the passwords local users may set. Lengths count
// characters (Unicode code points), not bytes.
type PasswordPolicy struct {
	MinLength int
	MaxLength int
}

// DefaultPasswordPolicy accepts 8 to 128 characters (NIST SP 800-63B: a
// minimum length and a generous maximum, no composition rules).
func DefaultPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{MinLength: 8, MaxLength: 128}
}

// Check returns nil when password is acceptable, or an error wrapping
// ErrPasswordPolicy that explains why not.
func (p PasswordPolicy) Check(password string) error {
	if !utf8.ValidString(password) {
		return fmt.Errorf("%w: password is not valid UTF-8", ErrPasswordPolicy)
	}
	n := utf8.RuneCountInString(password)
	if n < p.MinLength {
		return fmt.Errorf("%w: password must be at least %d characters, got %d", ErrPasswordPolicy, p.MinLength, n)
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		return fmt.Errorf("%w: password must be at most %d characters, got %d", ErrPasswordPolicy, p.MaxLength, n)
	}
	return nil
}
