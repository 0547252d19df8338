// Package tagselect holds Harbor's doublestar selectors, the scope of a tag
// retention rule and of a tag immutability rule: which repositories of a
// project and which tags a rule applies to. Package retention and package
// immutable both use it, so the two features read a selector the same way.
//
// A Selector is a plain value; the functions here are pure:
//
//	repos := []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "app/**"}}
//	tags := []tagselect.Selector{{Decoration: tagselect.Excludes, Pattern: "dev-*"}}
//	if err := tagselect.ValidateRepository(repos); err != nil { ... } // core.ErrInvalid
//	name, _ := tagselect.RepositoryName("library/app/web") // "app/web", without the project
//	tagselect.MatchRepository(repos, name)                  // true
//	tagselect.MatchTag(tags, "v1.2")                        // true
//	tagselect.MatchTags(tags, nil)                          // an untagged artifact: true (see Selector.Untagged)
//
// Patterns are doublestar globs (github.com/bmatcuk/doublestar/v4), as in
// Harbor: '*' matches any run of characters but '/', '**' as a whole path
// segment matches any number of segments ("app/**" matches "app",
// "app/web" and "app/web/x"), '?' one character but '/', "[a-z]" a class
// and "{a,b}" either alternative. Repository patterns see the repository
// name without its project ("app/web" for "library/app/web").
package tagselect

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/berthlabs/berth/core"
)

// Kind is the only selector kind: Harbor's "doublestar".
const Kind = "doublestar"

// Decorations: what a selector looks at and whether it keeps or drops
// what its pattern matches (Harbor's names).
const (
	RepoMatches  = "repoMatches"  // repositories whose name matches the pattern
	RepoExcludes = "repoExcludes" // repositories whose name does not match
	Matches      = "matches"      // artifacts with a tag that matches the pattern
	Excludes     = "excludes"     // artifacts with a tag that does not match
)

// Bounds on a pattern. Patterns are stored policy, written by project
// administrators and matched against every tag of a repository, and
// doublestar tries alternatives one after another, so "{a,b}" groups
// multiply the work: a pattern may spell at most MaxAlternatives
// alternative-free patterns ("{a,b}-{c,d}" spells 4).
const (
	MaxPatternLength = 1024
	MaxAlternatives  = 64
)

// ErrInvalidSelector is the error every validation failure here wraps.
var ErrInvalidSelector = core.New(core.ErrInvalid, "invalid selector")

// Selector is one of Harbor's doublestar selectors.
//
// Kind is "doublestar", or empty for the same. Decoration is RepoMatches
// or RepoExcludes for a repository (scope) selector, Matches or Excludes
// for a tag selector.
//
// A tag selector selects an artifact by its tags: with Matches, an artifact
// with at least one tag that matches the pattern; with Excludes, an
// artifact with at least one tag that does not match it. Untagged is
// Harbor's extra {"untagged": true}: whether an artifact with no tag counts
// as matching the pattern. So with Matches, Untagged selects untagged
// artifacts; with Excludes, Untagged drops them, and without it they are
// selected. Untagged means nothing to a repository selector, nor to a
// single tag (MatchTag).
type Selector struct {
	Kind       string
	Decoration string
	Pattern    string
	Untagged   bool
}

func (s Selector) String() string {
	out := s.Decoration + " " + fmt.Sprintf("%q", s.Pattern)
	if s.Untagged {
		out += " +untagged"
	}
	return out
}

// Validate checks the selector on its own: its kind, its decoration (any
// of the four) and its pattern. A failure wraps ErrInvalidSelector and
// core.ErrInvalid.
func (s Selector) Validate() error {
	if s.Kind != "" && s.Kind != Kind {
		return fmt.Errorf("%w: kind %q: want %q", ErrInvalidSelector, s.Kind, Kind)
	}
	switch s.Decoration {
	case RepoMatches, RepoExcludes, Matches, Excludes:
	default:
		return fmt.Errorf("%w: decoration %q: want %s, %s, %s or %s",
			ErrInvalidSelector, s.Decoration, RepoMatches, RepoExcludes, Matches, Excludes)
	}
	return ValidatePattern(s.Pattern)
}

// ValidatePattern checks a doublestar pattern: not empty (write "**" for
// everything), at most MaxPatternLength bytes, well-formed (classes and
// alternatives closed, no trailing backslash) and spelling at most
// MaxAlternatives alternatives.
func ValidatePattern(pattern string) error {
	switch {
	case pattern == "":
		return fmt.Errorf("%w: empty pattern (\"**\" matches everything)", ErrInvalidSelector)
	case len(pattern) > MaxPatternLength:
		return fmt.Errorf("%w: pattern longer than %d bytes", ErrInvalidSelector, MaxPatternLength)
	case !doublestar.ValidatePattern(pattern):
		return fmt.Errorf("%w: pattern %q is malformed: a [class] or {alternative} is not closed, a class is empty, or a backslash ends it",
			ErrInvalidSelector, pattern)
	case alternatives(pattern, MaxAlternatives) > MaxAlternatives:
		return fmt.Errorf("%w: pattern %q spells more than %d alternatives", ErrInvalidSelector, pattern, MaxAlternatives)
	}
	return nil
}

// ValidateRepository checks repository (scope) selectors: each valid, each
// RepoMatches or RepoExcludes. None at all is valid: every repository.
func ValidateRepository(selectors []Selector) error {
	return validateAll(selectors, "repository", RepoMatches, RepoExcludes)
}

// ValidateTag checks tag selectors: each valid, each Matches or Excludes.
// None at all is valid: every artifact, tagged or not.
func ValidateTag(selectors []Selector) error {
	return validateAll(selectors, "tag", Matches, Excludes)
}

func validateAll(selectors []Selector, what, match, exclude string) error {
	for i, s := range selectors {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("%s selector %d: %w", what, i+1, err)
		}
		if s.Decoration != match && s.Decoration != exclude {
			return fmt.Errorf("%s selector %d: %w: decoration %q: want %s or %s",
				what, i+1, ErrInvalidSelector, s.Decoration, match, exclude)
		}
	}
	return nil
}

// RepositoryName splits a full repository name ("library/app/web") into
// the name selectors see ("app/web"); ok is false when there is no project
// part or no name after it.
func RepositoryName(full string) (name string, ok bool) {
	project, name, found := strings.Cut(full, "/")
	if !found || project == "" || name == "" {
		return "", false
	}
	return name, true
}

// MatchRepository reports whether every selector selects the repository
// name (without its project, see RepositoryName). No selectors select
// every repository. A tag selector, or a selector whose pattern is
// malformed, selects nothing.
func MatchRepository(selectors []Selector, name string) bool {
	for _, s := range selectors {
		var exclude bool
		switch s.Decoration {
		case RepoMatches:
		case RepoExcludes:
			exclude = true
		default:
			return false
		}
		m, err := match(s.Pattern, name)
		if err != nil || m == exclude {
			return false
		}
	}
	return true
}

// MatchTags reports whether every selector selects an artifact that holds
// these tags; nil or empty tags is an untagged artifact (see
// Selector.Untagged). No selectors select every artifact. A repository
// selector, or a selector whose pattern is malformed, selects nothing.
func MatchTags(selectors []Selector, tags []string) bool {
	for _, s := range selectors {
		if !s.selectsTags(tags) {
			return false
		}
	}
	return true
}

// MatchTag reports whether every selector selects a single tag: with
// Matches the tag matches the pattern, with Excludes it does not.
func MatchTag(selectors []Selector, tag string) bool {
	return MatchTags(selectors, []string{tag})
}

func (s Selector) selectsTags(tags []string) bool {
	var exclude bool
	switch s.Decoration {
	case Matches:
	case Excludes:
		exclude = true
	default:
		return false
	}
	if len(tags) == 0 {
		return s.Untagged != exclude
	}
	for _, t := range tags {
		m, err := match(s.Pattern, t)
		if err != nil {
			return false
		}
		if m != exclude {
			return true
		}
	}
	return false
}

// match runs a pattern that Validate accepts; any other is an error, so a
// selector that was never validated cannot make the matcher do unbounded
// work.
func match(pattern, s string) (bool, error) {
	if err := ValidatePattern(pattern); err != nil {
		return false, err
	}
	m, err := doublestar.Match(pattern, s)
	if err != nil {
		return false, errors.Join(ErrInvalidSelector, err)
	}
	return m, nil
}

// alternatives counts the alternative-free patterns a pattern spells, the
// way doublestar expands "{...}" (escapes skipped, groups nested, commas
// at the group's own depth), stopping once the count passes limit.
func alternatives(pattern string, limit int) int {
	total := 1
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '{':
			end := closingBrace(pattern, i+1)
			if end < 0 {
				return total // unbalanced: ValidatePattern refuses it
			}
			group := 0
			for _, alt := range splitAlternatives(pattern[i+1 : end]) {
				group += alternatives(alt, limit)
				if group > limit {
					return limit + 1
				}
			}
			total *= max(group, 1)
			if total > limit {
				return limit + 1
			}
			i = end
		}
	}
	return total
}

// closingBrace is the index of the '}' closing a group whose content
// starts at from, or -1.
func closingBrace(p string, from int) int {
	depth := 1
	for i := from; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitAlternatives splits a group's content at its own commas.
func splitAlternatives(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
