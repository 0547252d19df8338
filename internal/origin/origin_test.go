package origin_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/origin"
)

func TestOf(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://reg.example", "http://reg.example"},
		{"HTTPS://Reg.Example:443/v2/", "https://reg.example"},
		{"http://reg.example:80", "http://reg.example"},
		{"http://reg.example:443", "http://reg.example:443"},
		{"https://reg.example:80", "https://reg.example:80"},
		{"http://127.0.0.1:5000/api", "http://127.0.0.1:5000"},
		{"http://[::1]:80/", "http://[::1]"},
		{"https://[::1]:8443", "https://[::1]:8443"},
		{"http://user:pw@reg.example:8080/x?y#z", "http://reg.example:8080"},
	} {
		got, err := origin.Of(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "reg.example", "/path", "ftp://reg.example", "http://", "null", "mailto:a@b", "http://a b"} {
		_, err := origin.Of(bad)
		assert.Error(t, err, bad)
	}
}

func TestSame(t *testing.T) {
	assert.True(t, origin.Same("http://a.example/v2/", "HTTP://A.example:80"))
	assert.True(t, origin.Same("https://a.example", "https://a.example:443/x"))
	for _, other := range []string{"https://a.example", "http://a.example:8080", "http://b.example", "http://a.example.evil", "", "a.example"} {
		assert.False(t, origin.Same("http://a.example", other), other)
	}
	assert.False(t, origin.Same("", ""), "no origin is the same as no origin: nothing to compare")
}

func TestOfHost(t *testing.T) {
	assert.Equal(t, "http://127.0.0.1:5000", origin.OfHost("http", "127.0.0.1:5000"))
	assert.Equal(t, "https://reg.example", origin.OfHost("https", "Reg.Example:443"))
	assert.Equal(t, "http://reg.example", origin.OfHost("http", "reg.example"))
}
