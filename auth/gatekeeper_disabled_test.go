package auth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
)

// TestDisabledRobotIsToldSo: a disabled robot that sends its right secret
// learns that it is disabled, from the token endpoint and from the
// registry's Basic challenge; a wrong secret still says nothing more.
func TestDisabledRobotIsToldSo(t *testing.T) {
	w := newWorld(t)
	disabled := true
	_, err := w.robots.Update(t.Context(), "robot$priv+ci", auth.RobotUpdate{Disabled: &disabled})
	require.NoError(t, err)

	q := url.Values{"service": {"berth-registry"}, "scope": {"repository:priv/app:pull"}}
	for _, tt := range []struct{ secret, want string }{
		{w.robotKey, "account disabled"},
		{"wrong", "invalid username or password"},
	} {
		resp := w.do(t, http.MethodGet, "/service/token?"+q.Encode(), "robot$priv+ci", tt.secret, "", "")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		var body struct {
			Description string `json:"error_description"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		assert.Contains(t, body.Description, tt.want)
	}

	resp := w.do(t, http.MethodGet, "/v2/priv/app/tags/list", "robot$priv+ci", w.robotKey, "", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	var reg struct{ Errors []struct{ Message string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&reg))
	require.NotEmpty(t, reg.Errors)
	assert.Contains(t, reg.Errors[0].Message, "disabled")
}
