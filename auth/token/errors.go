package token

import (
	"errors"

	"github.com/berthlabs/berth/core"
)

// Errors of Verify, VerifyRequest, Allows and ParseScope; match with errors.Is.
var (
	ErrMalformed         = errors.New("token: malformed")
	ErrAlgorithm         = errors.New("token: signing algorithm not accepted")
	ErrUnknownKey        = errors.New("token: unknown signing key")
	ErrInvalidSignature  = errors.New("token: invalid signature")
	ErrExpired           = errors.New("token: expired")
	ErrNotYetValid       = errors.New("token: not valid yet")
	ErrWrongIssuer       = errors.New("token: wrong issuer")
	ErrWrongAudience     = errors.New("token: wrong audience")
	ErrNoToken           = errors.New("token: no bearer token")
	ErrInsufficientScope = errors.New("token: insufficient scope")
	ErrInvalidScope      = errors.New("token: invalid scope")
)

// ErrInvalidCredentials is what an Authenticator returns (possibly wrapped)
// for a wrong username or password; the token endpoint answers 401.
var ErrInvalidCredentials = errors.New("token: invalid credentials")

// ErrAccountDisabled and ErrAccountExpired are what an Authenticator
// returns (possibly wrapped) for the right credentials of an account that
// may not log in: the token endpoint answers 401 saying so, so that the
// account's owner learns why rather than retrying a password. Return them
// only once the credentials were checked, or they tell strangers which
// accounts exist.
var (
	ErrAccountDisabled = errors.New("token: account disabled")
	ErrAccountExpired  = errors.New("token: account expired")
)

// ScopeError is the error of Allows: a valid token that does not cover what
// a request needs. It matches ErrInsufficientScope.
type ScopeError struct {
	Missing []core.Access // the needed actions the token lacks
}

func (e *ScopeError) Error() string {
	return "token: insufficient scope: missing " + FormatScope(e.Missing)
}

// Is makes errors.Is(err, ErrInsufficientScope) true.
func (e *ScopeError) Is(target error) bool { return target == ErrInsufficientScope }
