package webhook

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestTruncate(t *testing.T) {
	assert.Equal(t, "short", truncate("short", 512))
	long := strings.Repeat("é", 400) // 800 bytes
	got := truncate(long, maxErrorText)
	assert.LessOrEqual(t, len(got), maxErrorText)
	assert.True(t, utf8.ValidString(got))
	assert.True(t, strings.HasSuffix(got, "…"))
	assert.Equal(t, "a\uFFFDbc", storable("a\xffb\x00c"), "PostgreSQL's TEXT takes it")
}

func TestNewUUID(t *testing.T) {
	u := newUUID()
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, u)
	assert.NotEqual(t, u, newUUID())
}
