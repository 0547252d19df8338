package auth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
)

// tokenAs asks the token endpoint for a token with Basic credentials, as a
// client at remote, and returns the answer.
func (w *world) tokenAs(t *testing.T, h http.Handler, remote, user, pass string) *httptest.ResponseRecorder {
	t.Helper()
	q := url.Values{"service": {"berth-registry"}, "scope": {"repository:priv/app:pull"}}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/service/token?"+q.Encode(), nil)
	req.RemoteAddr = remote
	req.SetBasicAuth(user, pass)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestGatekeeperThrottlesFailedLogins(t *testing.T) {
	w := newWorld(t, auth.WithLoginThrottle(auth.LoginThrottle{
		Address: auth.ThrottleLimit{Free: 4, Base: time.Minute, Max: time.Hour},
		Name:    auth.ThrottleLimit{Free: 2, Base: time.Minute, Max: time.Hour},
	}))
	tokens := w.srv.Config.Handler
	require.Equal(t, http.StatusOK, w.tokenAs(t, tokens, "192.0.2.1:1", "alice", "alice-password-1").Code)

	// Guessing gus's password: two tries, then 429, even for the right
	// password, which is not checked.
	for range 2 {
		require.Equal(t, http.StatusUnauthorized, w.tokenAs(t, tokens, "203.0.113.5:1", "gus", "guess").Code)
	}
	rec := w.tokenAs(t, tokens, "203.0.113.6:1", "gus", "guess")
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	assert.Equal(t, "60", rec.Header().Get("Retry-After"))
	assert.Contains(t, rec.Body.String(), "too many failed logins")
	rec = w.tokenAs(t, tokens, "203.0.113.6:1", "gus", "gus-password-1")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "refused before the password is checked, even a right one")

	// Credentials verified a moment ago pass whatever the throttle says.
	assert.Equal(t, http.StatusOK, w.tokenAs(t, tokens, "203.0.113.6:2", "alice", "alice-password-1").Code)

	// One address guessing many names: four free failures, then 429, on
	// /v2/ as on the token endpoint; gus's cached credentials still pass.
	for _, name := range []string{"n1", "n2", "n3", "n4"} {
		require.Equal(t, http.StatusUnauthorized, w.tokenAs(t, tokens, "198.51.100.7:9", name, "x").Code)
	}
	assert.Equal(t, http.StatusTooManyRequests, w.tokenAs(t, tokens, "198.51.100.7:9", "n5", "x").Code)

	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v2/priv/app/tags/list", nil)
	req.RemoteAddr = "198.51.100.7:10"
	req.SetBasicAuth("n6", "x")
	rec = httptest.NewRecorder()
	tokens.ServeHTTP(rec, req)
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "TOOMANYREQUESTS")
	secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err)
	assert.Positive(t, secs)
}

// A client's parallel requests with the same credentials, before the
// first is cached, share one password check: none is throttled.
func TestGatekeeperParallelLoginsShareOneCheck(t *testing.T) {
	w := newWorld(t, auth.WithLoginThrottle(auth.LoginThrottle{
		Address: auth.ThrottleLimit{Free: 1, Base: time.Minute, Max: time.Hour},
		Name:    auth.ThrottleLimit{Free: 1, Base: time.Minute, Max: time.Hour},
	}))
	h := w.srv.Config.Handler
	codes := make(chan int, 30)
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() { codes <- w.tokenAs(t, h, "192.0.2.9:1", "alice", "alice-password-1").Code })
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		assert.Equal(t, http.StatusOK, c)
	}
}
