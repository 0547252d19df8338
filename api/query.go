package api

import (
	"fmt"
	"slices"
	"strings"
)

// qTerm is one term of a Harbor q parameter: key=value, or key=~value
// (fuzzy: what fuzzy means is up to the endpoint).
type qTerm struct {
	value string
	fuzzy bool
}

// parseQ parses a q parameter with the keys allowed (lower case; keys are
// matched case-insensitively, as Harbor's robot filters write ProjectID).
// Harbor's ranges and lists are not supported here.
func parseQ(q string, allowed ...string) (map[string]qTerm, error) {
	out := map[string]qTerm{}
	for term := range strings.SplitSeq(q, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		key, val, ok := strings.Cut(term, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return nil, badRequest(fmt.Sprintf("q term %q: want key=value or key=~value", term))
		}
		if !slices.Contains(allowed, key) {
			return nil, badRequest(fmt.Sprintf("q key %q is not supported here; supported keys: %s", key, strings.Join(allowed, ", ")))
		}
		if _, dup := out[key]; dup {
			return nil, badRequest(fmt.Sprintf("q key %q given twice", key))
		}
		t := qTerm{}
		val, t.fuzzy = strings.CutPrefix(val, "~")
		val = strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		if val == "" {
			return nil, badRequest(fmt.Sprintf("q key %q has an empty value", key))
		}
		if c := val[0]; c == '[' || c == '{' || c == '(' {
			return nil, badRequest(fmt.Sprintf("q key %q: ranges and lists are not supported here", key))
		}
		t.value = val
		out[key] = t
	}
	return out, nil
}
