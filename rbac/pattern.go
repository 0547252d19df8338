package rbac

import (
	"fmt"
	"path"
	"strings"
)

// Match reports whether a repository name matches a repository pattern.
//
// Patterns are matched one path segment at a time. A segment "**" matches
// zero or more whole segments; any other segment is matched against one
// segment with path.Match, so "*", "?" and "[...]" never cross a "/". Thus
// "library/team/**" matches "library/team", "library/team/a" and
// "library/team/a/b"; "library/repo*" matches "library/repo1" but not
// "library/repo1/x"; "**" matches everything. A malformed pattern matches
// nothing.
func Match(pattern, repository string) bool {
	return matchSegments(compilePattern(pattern), repository)
}

// segment is one compiled pattern segment.
type segment struct {
	text    string
	literal bool // no metacharacters: compare as a string
	any     bool // "**"
}

func compilePattern(pattern string) []segment {
	parts := strings.Split(pattern, "/")
	segs := make([]segment, 0, len(parts))
	for _, p := range parts {
		if p == "**" {
			if n := len(segs); n > 0 && segs[n-1].any {
				continue // "**/**" is "**"
			}
			segs = append(segs, segment{text: p, any: true})
			continue
		}
		segs = append(segs, segment{text: p, literal: !strings.ContainsAny(p, `*?[\`)})
	}
	return segs
}

// matchSegments is the classic wildcard algorithm over path segments: "**"
// is the star, other segments match exactly one name segment. On a mismatch
// it backtracks to the last "**" and lets it swallow one more segment, which
// keeps the cost at O(segments(pattern) × segments(name)).
func matchSegments(segs []segment, name string) bool {
	pi, ni := 0, 0 // pattern index; byte offset of the current name segment
	star, starNi := -1, 0
	for ni <= len(name) {
		if pi < len(segs) && segs[pi].any {
			star, starNi = pi, ni
			pi++
			continue
		}
		end := segmentEnd(name, ni)
		if pi < len(segs) && segs[pi].match(name[ni:end]) {
			pi++
			ni = end + 1
			continue
		}
		if star < 0 {
			return false
		}
		pi = star + 1
		starNi = segmentEnd(name, starNi) + 1
		ni = starNi
	}
	for pi < len(segs) && segs[pi].any {
		pi++
	}
	return pi == len(segs)
}

func segmentEnd(name string, from int) int {
	if i := strings.IndexByte(name[from:], '/'); i >= 0 {
		return from + i
	}
	return len(name)
}

func (s segment) match(part string) bool {
	if s.literal {
		return s.text == part
	}
	ok, err := path.Match(s.text, part)
	return ok && err == nil
}

// checkPattern validates a binding's repository pattern for project (or any
// project when project is "*"): well-formed, no empty, "." or ".." segments,
// and, for a named project, a first segment that is the project itself so a
// grant can never reach into another project.
func checkPattern(pattern, project string) error {
	if strings.ContainsAny(pattern, ", \t\n") {
		return fmt.Errorf("pattern %q: no spaces or commas allowed", pattern)
	}
	for i, seg := range strings.Split(pattern, "/") {
		switch seg {
		case "", ".", "..":
			return fmt.Errorf("pattern %q: empty, \".\" or \"..\" segment", pattern)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("pattern %q: %w", pattern, err)
		}
		if i == 0 && project != "*" && seg != project {
			return fmt.Errorf("pattern %q must start with %q", pattern, project+"/")
		}
	}
	if project != "*" && !strings.Contains(pattern, "/") {
		return fmt.Errorf("pattern %q must start with %q", pattern, project+"/")
	}
	return nil
}
