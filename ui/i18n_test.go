package ui

import (
	"io/fs"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every message a template or handler names exists, in every language;
// every message in the catalog is used (an unused one is a page that
// lost a string, or a translation nobody reviews).
func TestEveryStringIsTranslated(t *testing.T) {
	cat, err := loadCatalog(assets)
	require.NoError(t, err)
	used := map[string]bool{}
	keyInTemplate := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	files, err := fs.Glob(assets, "templates/*.html")
	require.NoError(t, err)
	pages, err := fs.Glob(assets, "templates/pages/*.html")
	require.NoError(t, err)
	for _, f := range append(files, pages...) {
		b, err := fs.ReadFile(assets, f)
		require.NoError(t, err)
		for _, m := range keyInTemplate.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
			assert.Contains(t, cat.messages, m[1], "%s names a message the catalog lacks", f)
		}
	}
	// Handlers and templates may also name keys as string literals
	// ("area.key") passed around before they are shown.
	keyLiteral := regexp.MustCompile(`"([a-z]+\.[a-z0-9_.]+)"`)
	sources, err := fs.Glob(sourceFS(t), "*.go")
	require.NoError(t, err)
	for _, f := range append(sources, append(files, pages...)...) {
		b, err := fs.ReadFile(sourceFS(t), f)
		require.NoError(t, err)
		for _, m := range keyLiteral.FindAllStringSubmatch(string(b), -1) {
			if _, ok := cat.messages[m[1]]; ok {
				used[m[1]] = true
			}
		}
	}
	for _, k := range cat.keys() {
		assert.True(t, used[k], "message %q is never shown", k)
		for _, l := range languages {
			assert.NotEmpty(t, cat.messages[k][l], "%q has no %s text", k, l)
		}
	}
}
