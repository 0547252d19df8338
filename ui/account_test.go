package ui_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A user changes their own password from the user menu, logs out, and
// logs in with the new one.
func TestChangePasswordAndLogOut(t *testing.T) {
	p := startPortal(t)
	p.api(t, http.MethodPost, "/users", map[string]any{"username": "bob", "email": "bob@example.com",
		"realname": "Bob", "password": "Bob-Password-1"}, nil)
	p.login(t, "bob", "Bob-Password-1")
	assert.Contains(t, text(p.page(t, "/account/password")), "Confirm new password")

	got := p.submit(t, "/account/password", url.Values{"old_password": {"Bob-Password-1"},
		"new_password": {"Bob-Password-2"}, "confirm_password": {"Bob-Password-3"}})
	assert.Contains(t, text(got), "The new passwords do not match.")
	got = p.submit(t, "/account/password", url.Values{"old_password": {"wrong"},
		"new_password": {"Bob-Password-2"}, "confirm_password": {"Bob-Password-2"}})
	assert.NotContains(t, text(got), "Your password has been changed.", "the API refused the wrong old password")
	assert.Contains(t, got, `role="alert"`)
	got = p.submit(t, "/account/password", url.Values{"old_password": {"Bob-Password-1"},
		"new_password": {"Bob-Password-2"}, "confirm_password": {"Bob-Password-2"}})
	assert.Contains(t, text(got), "Your password has been changed.")

	status, loc, _ := p.post(t, "/logout", nil)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/login", loc)
	resp, err := p.client.Get(p.URL + "/projects")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the session is over")

	status, _, _ = p.post(t, "/login", url.Values{"principal": {"bob"}, "password": {"Bob-Password-1"}})
	assert.Equal(t, http.StatusUnauthorized, status, "the old password no longer works")
	p.login(t, "bob", "Bob-Password-2")
}
