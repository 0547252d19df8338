package auth

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length bounds of user fields, in bytes for names and characters for the
// rest.
const (
	MaxUserNameLen    = 255
	MaxEmailLen       = 255
	MaxDisplayNameLen = 255
)

// CanonicalUserName folds name to lower case: user names are matched
// case-insensitively, as LDAP and Active Directory match them, so "Alice"
// and "alice" are one account and look-alike duplicates cannot be made.
func CanonicalUserName(name string) string { return strings.ToLower(name) }

// ValidateUserName checks a canonical user name: 1 to 255 bytes of
// lower-case letters, digits, '.', '_', '-' and '@' (for LDAP-style names
// such as first.last@example.com), starting with a letter or digit. That
// leaves out ':' (the Basic auth separator), '$' (robot accounts are
// "robot$..."), whitespace, control characters, quotes and path or filter
// metacharacters. Errors wrap ErrInvalid.
func ValidateUserName(name string) error {
	if name == "" || len(name) > MaxUserNameLen {
		return fmt.Errorf("%w: user name must be 1 to %d bytes long", ErrInvalid, MaxUserNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: user name is not valid UTF-8", ErrInvalid)
	}
	for i, r := range name {
		ok := unicode.IsLetter(r) && !unicode.IsUpper(r) || unicode.IsDigit(r)
		if !ok && i > 0 {
			ok = r == '.' || r == '_' || r == '-' || r == '@'
		}
		if !ok {
			return fmt.Errorf("%w: user name %q: character %q not allowed (use lower-case letters, digits, '.', '_', '-', '@'; start with a letter or digit)", ErrInvalid, name, r)
		}
	}
	return nil
}

// validateUser checks every field of u; u.Name must be canonical.
func validateUser(u User) error {
	if err := ValidateUserName(u.Name); err != nil {
		return err
	}
	if err := validateEmail(u.Email); err != nil {
		return err
	}
	if err := validateDisplayName(u.DisplayName); err != nil {
		return err
	}
	if err := validateComment(u.Comment); err != nil {
		return err
	}
	return validateSource(u.Source)
}

func validateEmail(email string) error {
	if email == "" {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > MaxEmailLen {
		return fmt.Errorf("%w: email %q: want a bare address such as name@example.com, at most %d bytes", ErrInvalid, email, MaxEmailLen)
	}
	return nil
}

func validateDisplayName(s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxDisplayNameLen {
		return fmt.Errorf("%w: display name must be valid UTF-8, at most %d characters", ErrInvalid, MaxDisplayNameLen)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: display name contains a control character", ErrInvalid)
	}
	return nil
}

// validateSource accepts short lower-case identifiers: "local", "ldap",
// "oidc", ...
func validateSource(s string) error {
	if s == "" || len(s) > 32 || strings.TrimFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' }) != "" {
		return fmt.Errorf("%w: source %q: want a short lower-case name such as %q or %q", ErrInvalid, s, SourceLocal, SourceLDAP)
	}
	return nil
}
