package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// A page of another site can make a browser that holds Basic credentials
// send requests; the API refuses those that change state.
func TestCrossSiteRequestsRefused(t *testing.T) {
	e := newEnv(t, api.WithAllowedOrigins("https://ui.example.com"))
	e.user("alice")
	create := func(name string) map[string]any { return map[string]any{"project_name": name} }
	tests := []struct {
		name    string
		headers []string
		status  int
	}{
		{"no browser headers (CLI, SDK)", nil, http.StatusCreated},
		{"own origin", []string{"Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"}, http.StatusCreated},
		{"allowed origin, cross-site", []string{"Origin", "https://ui.example.com", "Sec-Fetch-Site", "cross-site"}, http.StatusCreated},
		{"foreign origin", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"null origin", []string{"Origin", "null"}, http.StatusForbidden},
		{"cross-site without origin", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"own host, other port", []string{"Origin", "http://127.0.0.1:1"}, http.StatusForbidden},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "p" + string(rune('a'+i))
			r := e.do(as("alice"), http.MethodPost, "/projects", create(name), tt.headers...)
			if tt.status != http.StatusForbidden {
				r.ok(t, tt.status, nil)
				return
			}
			assert.Contains(t, r.fails(t, http.StatusForbidden, "FORBIDDEN"), "cross-site request refused")
			e.do(admin(), http.MethodGet, "/projects/"+name, nil).fails(t, http.StatusNotFound, "NOT_FOUND")
		})
	}
	// Reads are not refused: a foreign page cannot read the answer anyway.
	e.do(as("alice"), http.MethodGet, "/projects", nil, "Origin", "https://evil.example").ok(t, http.StatusOK, nil)
}

// Bodies a browser can send without a preflight (text/plain, forms) are
// not taken as JSON.
func TestJSONBodiesNeedTheirMediaType(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	body := `{"project_name":"sneaky"}`
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		r := e.do(as("alice"), http.MethodPost, "/projects", body, "Content-Type", ct)
		msg := r.fails(t, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
		assert.Contains(t, msg, "send it as application/json", ct)
	}
	e.do(admin(), http.MethodGet, "/projects/sneaky", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("alice"), http.MethodPost, "/projects", body, "Content-Type", "application/json; charset=utf-8").ok(t, http.StatusCreated, nil)
}

func TestCrossSiteGuardWrapsOtherHandlers(t *testing.T) {
	var served int
	h := api.CrossSiteGuard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { served++ }),
		api.GuardExternalURL("https://registry.example.com/"))
	for _, tt := range []struct {
		method, origin string
		status         int
	}{
		{http.MethodPost, "https://registry.example.com", http.StatusOK},
		{http.MethodDelete, "https://registry.example.com:443", http.StatusOK},
		{http.MethodPost, "https://elsewhere.example.com", http.StatusForbidden},
		{http.MethodGet, "https://elsewhere.example.com", http.StatusOK},
	} {
		req := httptest.NewRequest(tt.method, "http://10.0.0.1:8080/api/chartrepo/p/charts", nil)
		req.Header.Set("Origin", tt.origin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, tt.status, rec.Code, "%s from %s: %s", tt.method, tt.origin, rec.Body)
	}
	assert.Equal(t, 3, served)
}
