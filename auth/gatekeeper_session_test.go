package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
)

// headerSessions resolves the user a test header names.
type headerSessions struct{ err error }

func (h headerSessions) Resolve(r *http.Request) (string, []string, error) {
	if h.err != nil {
		return "", nil, h.err
	}
	return r.Header.Get("X-Test-Session"), []string{"devs"}, nil
}

func sessionRequest(user string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/v2.0/projects", nil)
	if user != "" {
		r.Header.Set("X-Test-Session", user)
	}
	return r
}

func TestGatekeeperSessions(t *testing.T) {
	w := newWorld(t, auth.WithSessions(headerSessions{}))
	p, err := w.gk.Principal(sessionRequest("alice"))
	require.NoError(t, err)
	assert.Equal(t, rbac.Principal{Kind: rbac.User, Name: "alice", Groups: []string{"devs"}}, p)

	p, err = w.gk.Principal(sessionRequest("admin"))
	require.NoError(t, err)
	assert.True(t, p.SystemAdmin, "an administrator's rights come from the account")

	p, err = w.gk.Principal(sessionRequest(""))
	require.NoError(t, err)
	assert.Equal(t, rbac.Anonymous, p.Kind, "no session, no credentials")

	// Credentials in the request win over the session.
	r := sessionRequest("admin")
	r.SetBasicAuth("gus", "gus-password-1")
	p, err = w.gk.Principal(r)
	require.NoError(t, err)
	assert.Equal(t, "gus", p.Name)

	// A session outliving its account is refused.
	require.NoError(t, w.users.Delete(t.Context(), "alice"))
	_, err = w.gk.Principal(sessionRequest("alice"))
	assert.ErrorIs(t, err, auth.ErrDisabled)

	broken := newWorld(t, auth.WithSessions(headerSessions{err: errors.New("database down")}))
	_, err = broken.gk.Principal(sessionRequest("gus"))
	assert.ErrorContains(t, err, "database down")

	// Without WithSessions nothing is resolved.
	p, err = newWorld(t).gk.Principal(sessionRequest("admin"))
	require.NoError(t, err)
	assert.Equal(t, rbac.Anonymous, p.Kind)
}

func TestGatekeeperBrowserLogin(t *testing.T) {
	var attempts []auth.LoginAttempt
	w := newWorld(t, auth.WithLoginObserver(func(_ context.Context, l auth.LoginAttempt) { attempts = append(attempts, l) }))
	name, _, err := w.gk.BrowserLogin(t.Context(), "Alice", "alice-password-1", "192.0.2.1:1234")
	require.NoError(t, err)
	assert.Equal(t, "alice", name)

	_, _, err = w.gk.BrowserLogin(t.Context(), "alice", "wrong", "192.0.2.1:1234")
	assert.ErrorIs(t, err, core.ErrDenied)
	_, _, err = w.gk.BrowserLogin(t.Context(), "robot$priv+ci", w.robotKey, "192.0.2.1:1234")
	assert.ErrorIs(t, err, core.ErrDenied, "robots have no web UI")
	assert.ErrorContains(t, err, "robot accounts cannot sign in")
	require.Len(t, attempts, 3, "browser logins are observed (audited) like others")
	assert.True(t, attempts[2].OK, "the robot's credentials are right; the web UI is what refuses it")
	assert.Equal(t, "192.0.2.1:1234", attempts[1].RemoteAddr)
	assert.False(t, attempts[1].OK)
}
