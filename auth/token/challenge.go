package token

import (
	"errors"
	"net/http"
	"strings"

	"github.com/berthlabs/berth/core"
)

// Challenge error codes (RFC 6750).
const (
	ErrCodeInvalidToken      = "invalid_token"
	ErrCodeInsufficientScope = "insufficient_scope"
)

// Challenge formats a WWW-Authenticate value that sends a client to the
// token endpoint at realm for service, asking for need (scope omitted when
// need has no actions) and naming errCode when not "":
//
//	Bearer realm="https://host/service/token",service="berth",scope="repository:foo:pull,push",error="insufficient_scope"
//
// Values are quoted with '"' and '\' escaped and control characters removed.
func Challenge(realm, service string, need []core.Access, errCode string) string {
	var b strings.Builder
	b.WriteString("Bearer ")
	param(&b, "realm", realm)
	b.WriteByte(',')
	param(&b, "service", service)
	if scope := FormatScope(merge(need)); scope != "" {
		b.WriteByte(',')
		param(&b, "scope", scope)
	}
	if errCode != "" {
		b.WriteByte(',')
		param(&b, "error", errCode)
	}
	return b.String()
}

func param(b *strings.Builder, name, value string) {
	b.WriteString(name + `="`)
	for _, r := range value {
		switch {
		case r < 0x20 || r == 0x7f:
			continue
		case r == '"' || r == '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
}

// VerifyRequest reads the request's "Authorization: Bearer" token, verifies
// it and checks that it allows need. Without a bearer token (none, or
// another scheme such as Basic) it returns ErrNoToken. A valid token that
// lacks scope returns its claims together with a *ScopeError.
func (s *Service) VerifyRequest(r *http.Request, need []core.Access) (*Claims, error) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return nil, ErrNoToken
	}
	c, err := s.Verify(raw)
	if err != nil {
		return nil, err
	}
	return c, c.Allows(need)
}

// Unauthorized builds the registry's answer to a request VerifyRequest
// refused: 401 UNAUTHORIZED with a Bearer challenge for realm, this service
// and need; the challenge names error="insufficient_scope" when cause is a
// *ScopeError, error="invalid_token" for a token that failed verification,
// and no error when there was no token (cause nil or ErrNoToken).
func (s *Service) Unauthorized(realm string, need []core.Access, cause error) *core.StatusError {
	code, msg := "", "authentication required"
	var detail any
	var se *ScopeError
	switch {
	case cause == nil || errors.Is(cause, ErrNoToken):
	case errors.As(cause, &se):
		code, msg, detail = ErrCodeInsufficientScope, "insufficient scope: missing "+FormatScope(se.Missing), se.Missing
	default:
		code, msg = ErrCodeInvalidToken, "invalid token: "+strings.TrimPrefix(cause.Error(), "token: ")
	}
	return &core.StatusError{
		Status:  http.StatusUnauthorized,
		Code:    codeUnauthorized,
		Message: msg,
		Detail:  detail,
		Header:  http.Header{"Www-Authenticate": {Challenge(realm, s.service, need, code)}},
	}
}

// codeUnauthorized is the OCI distribution error code of a 401
// (registry.CodeUnauthorized).
const codeUnauthorized = "UNAUTHORIZED"
