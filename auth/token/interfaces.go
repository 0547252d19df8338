package token

import (
	"context"

	"github.com/berthlabs/berth/core"
)

// Authenticator checks a username and password. A wrong pair returns
// ErrInvalidCredentials (possibly wrapped); any other error is a failure of
// the authenticator itself (answered 500).
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (Identity, error)
}

// Identity is who a token is issued to.
type Identity struct {
	Subject    string // stable name, the token's sub: "alice", "robot$ci"
	Attributes map[string]string
}

// Authorizer decides what a caller may have of what it requested. id is nil
// for an anonymous caller. It returns the allowed subset of requested;
// the token endpoint intersects the result with requested again.
type Authorizer interface {
	Grant(ctx context.Context, id *Identity, requested []core.Access) []core.Access
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, username, password string) (Identity, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, u, p string) (Identity, error) {
	return f(ctx, u, p)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, id *Identity, requested []core.Access) []core.Access

// Grant calls f.
func (f AuthorizerFunc) Grant(ctx context.Context, id *Identity, req []core.Access) []core.Access {
	return f(ctx, id, req)
}
