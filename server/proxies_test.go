package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBehindProxies(t *testing.T) {
	trusted, err := parsePrefixes([]string{"10.0.0.0/8", " 192.0.2.1", "2001:db8::/32"})
	require.NoError(t, err)
	var got string
	h := behindProxies(trusted, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
	for _, tt := range []struct {
		name, peer, xff, want string
	}{
		{"direct client", "203.0.113.9:4000", "", "203.0.113.9:4000"},
		{"untrusted peer cannot forge", "203.0.113.9:4000", "1.2.3.4", "203.0.113.9:4000"},
		{"one proxy", "10.1.2.3:80", "198.51.100.7", "198.51.100.7:0"},
		{"proxy chain", "10.1.2.3:80", "6.6.6.6, 198.51.100.7, 10.9.9.9", "198.51.100.7:0"},
		{"client's own forgery is left of the real hop", "192.0.2.1:80", "1.1.1.1,198.51.100.8", "198.51.100.8:0"},
		{"ipv6 proxy", "[2001:db8::5]:443", "2001:db8:ffff::1, 2a00::1", "[2a00::1]:0"},
		{"garbage", "10.1.2.3:80", "not-an-ip", "10.1.2.3:80"},
		{"only proxies", "10.1.2.3:80", "10.4.4.4", "10.1.2.3:80"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/v2/", nil)
		req.RemoteAddr = tt.peer
		if tt.xff != "" {
			req.Header.Set("X-Forwarded-For", tt.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		assert.Equal(t, tt.want, got, tt.name)
	}
	_, err = parsePrefixes([]string{"10.0.0.0/8", "nonsense"})
	assert.Error(t, err)
}
