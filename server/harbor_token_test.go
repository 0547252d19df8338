package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth/token"
)

// Harbor's clients ask the token endpoint for Harbor's service name; the
// token they get is berth's, good for its registry.
func TestTokenServiceAnswersHarborsName(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = t.TempDir(), "admin-password-1", "http://127.0.0.1:1"
	s, err := New(t.Context(), cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	defer s.Close(context.Background())

	for service, want := range map[string]int{token.HarborService: 200, tokenService: 200, "elsewhere": 400} {
		r := httptest.NewRequest(http.MethodGet, "/service/token?service="+service+"&scope=repository:library/app:pull", nil)
		r.SetBasicAuth("admin", "admin-password-1")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, r)
		require.Equal(t, want, rec.Code, "service %s: %s", service, rec.Body)
		if want != 200 {
			continue
		}
		var body struct{ Token string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		c, err := s.Tokens().Verify(body.Token)
		require.NoError(t, err)
		assert.Equal(t, []string{tokenService}, c.Audience)
		assert.NotEmpty(t, c.Access, "service %s: the admin gets what it asked for", service)
	}
}
