package rbac

import (
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"library/**", "library", true},
		{"library/**", "library/app", true},
		{"library/**", "library/a/b/c", true},
		{"library/**", "libraryx/app", false},
		{"library/**", "other/library/app", false},
		{"library/team/**", "library/team", true},
		{"library/team/**", "library/team/app", true},
		{"library/team/**", "library/team/a/b", true},
		{"library/team/**", "library/teamx/app", false},
		{"library/team/**", "library/app", false},
		{"library/team/**", "library", false},
		{"library/repo*", "library/repo", true},
		{"library/repo*", "library/repo1", true},
		{"library/repo*", "library/repo1/sub", false},
		{"library/repo*", "library/other", false},
		{"library/*", "library/app", true},
		{"library/*", "library/a/b", false},
		{"library/*", "library", false},
		{"library/*/app", "library/team/app", true},
		{"library/*/app", "library/a/b/app", false},
		{"library/**/app", "library/app", true},
		{"library/**/app", "library/a/b/app", true},
		{"library/**/app", "library/a/b/app2", false},
		{"library/**/team/**", "library/x/team/y/z", true},
		{"library/**/**/app", "library/app", true},
		{"library/ap?", "library/app", true},
		{"library/[a-c]pp", "library/bpp", true},
		{"library/[a-c]pp", "library/dpp", false},
		{"**", "anything/at/all", true},
		{"*/app", "library/app", true},
		{"*/app", "library/team/app", false},
		{"library/app", "library/app", true},
		{"library/app", "library/app/sub", false},
		{"library/[", "library/[", false}, // malformed: matches nothing
		// Segment matching means ".." is just a name that never validates,
		// never a way up the tree.
		{"library/**", "library/../secret", true},
		{"library/*", "library/..", true},
		{"secret/**", "library/../secret/app", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Match(tt.pattern, tt.name), "Match(%q, %q)", tt.pattern, tt.name)
	}
}

func TestCheckPattern(t *testing.T) {
	tests := []struct {
		pattern, project string
		ok               bool
	}{
		{"library/**", "library", true},
		{"library/team/**", "library", true},
		{"library/repo*", "library", true},
		{"library", "library", false},  // needs a repository part
		{"other/**", "library", false}, // another project
		{"*/**", "library", false},     // wildcard project
		{"**", "library", false},       // every project
		{"library/../secret", "library", false},
		{"library/./app", "library", false},
		{"library//app", "library", false},
		{"library/[", "library", false},
		{"library/a,b", "library", false},
		{"*/app", "*", true}, // robots bound to every project
		{"**", "*", true},
	}
	for _, tt := range tests {
		err := checkPattern(tt.pattern, tt.project)
		assert.Equal(t, tt.ok, err == nil, "checkPattern(%q, %q): %v", tt.pattern, tt.project, err)
	}
}

func TestValidRepository(t *testing.T) {
	for _, ok := range []string{"library/app", "a/b/c", "lib-x/app_1", "lib/a__b", "lib/a--b", "lib/a.b", "x"} {
		assert.True(t, validRepository(ok), ok)
	}
	for _, bad := range []string{"", "Library/app", "library/../secret", "library/./app", "library//app",
		"/library", "library/", "lib/.app", "lib/app.", "lib/a___b", "lib/a..b", "lib/a b", strings.Repeat("a", 256)} {
		assert.False(t, validRepository(bad), bad)
	}
}

// matchReference is the obvious recursive definition of Match, exponential
// in the number of "**" but fine for short inputs.
func matchReference(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if matchReference(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], name[0])
	return ok && err == nil && matchReference(pat[1:], name[1:])
}

func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"library/**", "library/a/b"},
		{"library/team/**", "library/team"},
		{"library/repo*", "library/repo1"},
		{"library/**/app", "library/a/app"},
		{"**/**/x", "a/b/x"},
		{"*/app", "lib/app"},
		{"library/[a-", "library/b"},
		{"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := Match(pattern, name)
		pat, segs := strings.Split(pattern, "/"), strings.Split(name, "/")
		if len(pat) <= 12 && len(segs) <= 12 {
			if want := matchReference(pat, segs); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, name, got, want)
			}
		}
		// A literal first segment pins the project: no cross-project match.
		if got && pat[0] != "**" && !strings.ContainsAny(pat[0], `*?[\`) && pat[0] != segs[0] {
			t.Fatalf("Match(%q, %q) crossed projects", pattern, name)
		}
	})
}
