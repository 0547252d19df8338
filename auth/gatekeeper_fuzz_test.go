package auth_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/rbac"
)

// FuzzGatekeeperLogin throws arbitrary Authorization headers and client
// addresses at the login path: it never panics, only the right password
// logs anyone in, and every failure is one the HTTP layers know how to
// answer (401, 429 or 503), never an internal error.
func FuzzGatekeeperLogin(f *testing.F) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, seed := range [][2]string{
		{basic("alice:alice-password-1"), "10.0.0.1:1"},
		{basic("alice:wrong"), "[2001:db8::1]:443"},
		{basic("robot$priv+ci:nope"), "bogus"},
		{basic("ALICE:alice-password-1"), ""},
		{basic(":"), "1.2.3.4"},
		{"Basic !!!", "10.0.0.1:1"},
		{"Bearer abc", "10.0.0.1:1"},
		{basic("admin\x00:x"), "10.0.0.1:1"},
	} {
		f.Add(seed[0], seed[1])
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, header, remote string) {
		req := httptest.NewRequest(http.MethodGet, "/v2/", nil)
		req.Header.Set("Authorization", header)
		req.RemoteAddr = remote
		p, err := w.gk.Principal(req)
		user, pass, ok := req.BasicAuth()
		switch {
		case err == nil && ok:
			if p.Kind != rbac.User || p.Name != "alice" || pass != "alice-password-1" {
				if !(p.Kind == rbac.Robot && pass == w.robotKey) && !(p.Name == "admin" && pass == "admin-password-1") &&
					!(p.Name == "gus" && pass == "gus-password-1") {
					t.Fatalf("%q logged in as %+v", user, p)
				}
			}
		case err == nil:
			if p.Kind != rbac.Anonymous || header != "" && ok {
				t.Fatalf("no Basic credentials, yet %+v", p)
			}
		case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrThrottled),
			errors.Is(err, auth.ErrExpired), errors.Is(err, auth.ErrDisabled):
		default:
			t.Fatalf("unexpected error for %q from %q: %v", header, remote, err)
		}
	})
}
