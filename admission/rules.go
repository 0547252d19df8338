package admission

import (
	"fmt"
	"path"
	"strings"
)

// Rules decide images of registries other than berth, by their name
// (host/path, without tag or digest; Docker Hub's images as
// docker.io/library/nginx). Deny wins over Allow; an image matching
// neither is allowed unless OtherDenied. Patterns are globs over
// slash-separated segments: "*", "?" and "[...]" as in path.Match within
// one segment, "**" for any number of segments ("ghcr.io/acme/**").
type Rules struct {
	Allow       []string
	Deny        []string
	OtherDenied bool
}

// validate reports the first malformed pattern.
func (r Rules) validate() error {
	for _, list := range [][]string{r.Allow, r.Deny} {
		for _, p := range list {
			if p == "" {
				return fmt.Errorf("admission: empty image pattern")
			}
			for seg := range strings.SplitSeq(p, "/") {
				if _, err := path.Match(seg, ""); err != nil {
					return fmt.Errorf("admission: image pattern %q: %w", p, err)
				}
			}
		}
	}
	return nil
}

// decide returns "" when name may run, or the reason it may not.
func (r Rules) decide(name string) string {
	for _, p := range r.Deny {
		if globMatch(p, name) {
			return fmt.Sprintf("denied by the admission rule %q", p)
		}
	}
	for _, p := range r.Allow {
		if globMatch(p, name) {
			return ""
		}
	}
	if !r.OtherDenied {
		return ""
	}
	return "images of other registries are refused unless an allow rule names them"
}

// globMatch matches a slash-separated pattern against name; see Rules.
func globMatch(pattern, name string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegments(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
