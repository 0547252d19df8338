package ui

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A login's "next" can only lead to a page of the portal.
func TestLocalTarget(t *testing.T) {
	for _, base := range []string{"", "/registry"} {
		u := &UI{base: base}
		home := base + "/projects"
		assert.Equal(t, base+"/projects/3/members?page=2", u.localTarget(base+"/projects/3/members?page=2"))
		for _, bad := range []string{"", "https://evil.example/", "//evil.example", "/\\evil.example", "/\t/evil.example",
			"/\n/evil.example", "/\r\n/evil.example", "\\\\evil.example", base + "//evil.example", "/ /evil.example",
			"javascript:alert(1)", base + "/\u00a0/evil.example"} {
			assert.Equal(t, home, u.localTarget(bad), "%q under %q", bad, base)
		}
	}
	assert.Equal(t, "/registry/projects", (&UI{base: "/registry"}).localTarget("/projects"), "not under the base")
}
