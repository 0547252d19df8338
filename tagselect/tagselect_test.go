package tagselect

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
)

func TestMatchRepository(t *testing.T) {
	for _, tc := range []struct {
		name      string
		selectors []Selector
		repo      string
		want      bool
	}{
		{"no selectors", nil, "app", true},
		{"all", []Selector{{Decoration: RepoMatches, Pattern: "**"}}, "a/b/c", true},
		{"star stops at slash", []Selector{{Decoration: RepoMatches, Pattern: "*"}}, "a/b", false},
		{"star one segment", []Selector{{Decoration: RepoMatches, Pattern: "app/*"}}, "app/web", true},
		{"star not deeper", []Selector{{Decoration: RepoMatches, Pattern: "app/*"}}, "app/web/x", false},
		{"doublestar deeper", []Selector{{Decoration: RepoMatches, Pattern: "app/**"}}, "app/web/x", true},
		{"doublestar itself", []Selector{{Decoration: RepoMatches, Pattern: "app/**"}}, "app", true},
		{"alternatives", []Selector{{Decoration: RepoMatches, Pattern: "{a,b}"}}, "b", true},
		{"alternatives miss", []Selector{{Decoration: RepoMatches, Pattern: "{a,b}"}}, "c", false},
		{"excludes", []Selector{{Decoration: RepoExcludes, Pattern: "tmp-*"}}, "tmp-1", false},
		{"excludes other", []Selector{{Decoration: RepoExcludes, Pattern: "tmp-*"}}, "app", true},
		{"and", []Selector{{Decoration: RepoMatches, Pattern: "app/**"}, {Decoration: RepoExcludes, Pattern: "app/tmp"}}, "app/tmp", false},
		{"and other", []Selector{{Decoration: RepoMatches, Pattern: "app/**"}, {Decoration: RepoExcludes, Pattern: "app/tmp"}}, "app/web", true},
		{"explicit kind", []Selector{{Kind: Kind, Decoration: RepoMatches, Pattern: "app"}}, "app", true},
		{"tag selector selects no repository", []Selector{{Decoration: Matches, Pattern: "**"}}, "app", false},
		{"malformed excludes nothing", []Selector{{Decoration: RepoExcludes, Pattern: "a["}}, "b", false},
		{"empty pattern", []Selector{{Decoration: RepoExcludes, Pattern: ""}}, "b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, MatchRepository(tc.selectors, tc.repo))
		})
	}
}

func TestMatchTags(t *testing.T) {
	m := func(p string, untagged bool) Selector {
		return Selector{Decoration: Matches, Pattern: p, Untagged: untagged}
	}
	x := func(p string, untagged bool) Selector {
		return Selector{Decoration: Excludes, Pattern: p, Untagged: untagged}
	}
	for _, tc := range []struct {
		name      string
		selectors []Selector
		tags      []string
		want      bool
	}{
		{"no selectors tagged", nil, []string{"v1"}, true},
		{"no selectors untagged", nil, nil, true},
		{"matches one of the tags", []Selector{m("v*", false)}, []string{"dev", "v1"}, true},
		{"matches none", []Selector{m("v*", false)}, []string{"dev"}, false},
		{"release doublestar", []Selector{m("release-**", false)}, []string{"release-1.2"}, true},
		{"matches untagged off", []Selector{m("**", false)}, nil, false},
		{"matches untagged on", []Selector{m("**", true)}, nil, true},
		{"excludes: a tag outside the pattern", []Selector{x("dev-*", false)}, []string{"dev-1", "v1"}, true},
		{"excludes: every tag inside", []Selector{x("dev-*", false)}, []string{"dev-1", "dev-2"}, false},
		{"excludes untagged off selects them", []Selector{x("dev-*", false)}, nil, true},
		{"excludes untagged on drops them", []Selector{x("dev-*", true)}, []string{}, false},
		{"and", []Selector{m("v*", false), x("v0*", false)}, []string{"v0.1"}, false},
		{"repository selector selects no artifact", []Selector{{Decoration: RepoMatches, Pattern: "**"}}, []string{"v1"}, false},
		{"malformed", []Selector{x("[", true)}, []string{"v1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, MatchTags(tc.selectors, tc.tags))
		})
	}
	assert.True(t, MatchTag([]Selector{m("v{1,2}.*", false)}, "v2.0"))
	assert.False(t, MatchTag([]Selector{x("v{1,2}.*", false)}, "v2.0"))
	assert.True(t, MatchTag([]Selector{m("v1", true)}, "v1"), "Untagged means nothing to a tag")
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Selector
		msg  string // "" when valid
	}{
		{"ok", Selector{Decoration: Matches, Pattern: "v*"}, ""},
		{"ok kind", Selector{Kind: "doublestar", Decoration: RepoExcludes, Pattern: "{a,b}/**"}, ""},
		{"kind", Selector{Kind: "regexp", Decoration: Matches, Pattern: "v*"}, `kind "regexp"`},
		{"decoration", Selector{Decoration: "matching", Pattern: "v*"}, `decoration "matching"`},
		{"empty", Selector{Decoration: Matches}, "empty pattern"},
		{"class", Selector{Decoration: Matches, Pattern: "v["}, `pattern "v[" is malformed`},
		{"empty class", Selector{Decoration: Matches, Pattern: "v[]"}, "malformed"},
		{"alternative", Selector{Decoration: Matches, Pattern: "{a,b"}, "malformed"},
		{"stray brace", Selector{Decoration: Matches, Pattern: "a}"}, "malformed"},
		{"backslash", Selector{Decoration: Matches, Pattern: `a\`}, "malformed"},
		{"long", Selector{Decoration: Matches, Pattern: strings.Repeat("a", MaxPatternLength+1)}, "longer than"},
		{"alternatives", Selector{Decoration: Matches, Pattern: strings.Repeat("{a,b}", 7)}, "more than 64 alternatives"},
		{"alternatives at the limit", Selector{Decoration: Matches, Pattern: strings.Repeat("{a,b}", 6)}, ""},
		{"nested alternatives", Selector{Decoration: Matches, Pattern: "{a,{b,c}}{d,e}"}, ""},
		{"escaped braces", Selector{Decoration: Matches, Pattern: strings.Repeat(`\{a,b\}`, 10)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, core.ErrInvalid)
			assert.ErrorIs(t, err, ErrInvalidSelector)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestValidateLists(t *testing.T) {
	require.NoError(t, ValidateRepository(nil))
	require.NoError(t, ValidateTag(nil))
	require.NoError(t, ValidateRepository([]Selector{{Decoration: RepoMatches, Pattern: "**"}}))
	require.NoError(t, ValidateTag([]Selector{{Decoration: Excludes, Pattern: "**"}}))

	err := ValidateRepository([]Selector{{Decoration: RepoMatches, Pattern: "**"}, {Decoration: Matches, Pattern: "**"}})
	require.ErrorIs(t, err, core.ErrInvalid)
	assert.EqualError(t, err, `repository selector 2: invalid selector: decoration "matches": want repoMatches or repoExcludes`)

	err = ValidateTag([]Selector{{Decoration: Matches, Pattern: "v["}})
	require.ErrorIs(t, err, core.ErrInvalid)
	assert.Contains(t, err.Error(), "tag selector 1: invalid selector: pattern \"v[\" is malformed")
}

func TestRepositoryName(t *testing.T) {
	for full, want := range map[string]string{"library/app": "app", "library/app/web": "app/web", "p/a/b/c": "a/b/c"} {
		got, ok := RepositoryName(full)
		assert.True(t, ok, full)
		assert.Equal(t, want, got, full)
	}
	for _, full := range []string{"", "app", "/app", "library/", "/"} {
		_, ok := RepositoryName(full)
		assert.False(t, ok, full)
	}
}

func TestSelectorString(t *testing.T) {
	assert.Equal(t, `matches "v*" +untagged`, Selector{Decoration: Matches, Pattern: "v*", Untagged: true}.String())
	assert.Equal(t, `repoExcludes "tmp"`, Selector{Decoration: RepoExcludes, Pattern: "tmp"}.String())
}

func TestMatchErrorIsInvalid(t *testing.T) {
	_, err := match("a[", "a")
	assert.True(t, errors.Is(err, core.ErrInvalid))
}

// Selectors are stored policy from project administrators and names come
// from pushes: validation never panics, a valid pattern matches without
// error, and Matches and Excludes split every tag and every repository
// name between them.
func FuzzSelector(f *testing.F) {
	for _, s := range [][2]string{{"**", "a/b"}, {"v*", "v1.0"}, {"{a,b}/*", "a/x"}, {"[a-", "a"},
		{`\`, `\`}, {"{a,{b,c}}", "c"}, {"a/**/b", "a/b"}, {"[!x]", "y"}, {"{,}", ""}, {"}{", "x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		err := ValidatePattern(pattern)
		valid := err == nil
		if !valid && !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("%q: %v is not an invalid kind", pattern, err)
		}
		m, merr := match(pattern, name)
		if valid != (merr == nil) {
			t.Fatalf("%q on %q: validate %v, match error %v", pattern, name, err, merr)
		}
		if !valid {
			if m || MatchTag([]Selector{{Decoration: Excludes, Pattern: pattern}}, name) ||
				MatchRepository([]Selector{{Decoration: RepoExcludes, Pattern: pattern}}, name) {
				t.Fatalf("malformed %q selects %q", pattern, name)
			}
			return
		}
		inc := MatchTag([]Selector{{Decoration: Matches, Pattern: pattern}}, name)
		exc := MatchTag([]Selector{{Decoration: Excludes, Pattern: pattern}}, name)
		if inc == exc || inc != m {
			t.Fatalf("%q on tag %q: matches %v, excludes %v, match %v", pattern, name, inc, exc, m)
		}
		inc = MatchRepository([]Selector{{Decoration: RepoMatches, Pattern: pattern}}, name)
		exc = MatchRepository([]Selector{{Decoration: RepoExcludes, Pattern: pattern}}, name)
		if inc == exc || inc != m {
			t.Fatalf("%q on repository %q: matches %v, excludes %v", pattern, name, inc, exc)
		}
		for _, untagged := range []bool{false, true} {
			inc = MatchTags([]Selector{{Decoration: Matches, Pattern: pattern, Untagged: untagged}}, nil)
			exc = MatchTags([]Selector{{Decoration: Excludes, Pattern: pattern, Untagged: untagged}}, nil)
			if inc != untagged || exc != !untagged {
				t.Fatalf("untagged=%v: matches %v, excludes %v", untagged, inc, exc)
			}
		}
	})
}
