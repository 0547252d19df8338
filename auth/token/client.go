package token

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

type clientAddrKey struct{}

// withClientAddr records the address a token request came from.
func withClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr is the address (host:port) of the client whose token request
// ctx belongs to, as the Handler saw it; "" outside one. Authenticators
// use it to throttle and to audit failed logins.
func ClientAddr(ctx context.Context) string {
	s, _ := ctx.Value(clientAddrKey{}).(string)
	return s
}

// retryAfter is what an Authenticator's error implements to have the
// client told to come back later (429 Too Many Requests).
type retryAfter interface{ RetryAfter() time.Duration }

// throttled answers an Authenticator's refusal to check credentials yet.
func throttled(err error) *oauthError {
	var ra retryAfter
	if !errors.As(err, &ra) {
		return nil
	}
	secs := max(int((ra.RetryAfter()+time.Second-1)/time.Second), 1)
	return &oauthError{status: http.StatusTooManyRequests, Code: "too_many_requests",
		Description: "too many failed logins; try again in " + strconv.Itoa(secs) + " s", retryAfter: secs}
}
