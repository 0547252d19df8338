package api

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// qKind is the form of one q term, as Harbor writes them.
type qKind int

const (
	qExact qKind = iota // key=value
	qFuzzy              // key=~value
	qRange              // key=[min~max], either end may be empty
	qAny                // key={a b c}: any value may match (Harbor's union)
	qAll                // key=(a b c): every value must match (Harbor's intersection)
)

// qTerm is one term of a Harbor q parameter. value is set for exact and
// fuzzy terms (what fuzzy means is up to the endpoint), values for lists,
// lo and hi for ranges.
type qTerm struct {
	kind   qKind
	value  string
	fuzzy  bool
	values []string
	lo, hi string
}

// qKey declares a key an endpoint filters on, and which of the set forms
// (ranges, lists) it takes besides key=value and key=~value.
type qKey struct {
	name         string
	ranges, sets bool
}

// qPlain, qRanged and qSets declare keys.
func qPlain(name string) qKey  { return qKey{name: name} }
func qRanged(name string) qKey { return qKey{name: name, ranges: true} }
func qSets(name string) qKey   { return qKey{name: name, sets: true} }

// parseQ parses a q parameter whose keys take key=value and key=~value
// only (keys are matched case-insensitively, as Harbor's robot filters
// write ProjectID).
func parseQ(q string, allowed ...string) (map[string]qTerm, error) {
	keys := make([]qKey, len(allowed))
	for i, k := range allowed {
		keys[i] = qPlain(k)
	}
	return parseQKeys(q, keys...)
}

// maxQTerms and maxQValues bound what one q may ask, so a query stays cheap.
const (
	maxQTerms  = 16
	maxQValues = 100
)

// parseQKeys parses Harbor's q syntax: comma-separated terms key=value,
// key=~value, key=[min~max], key={a b c} (any of them) and key=(a b c)
// (all of them), URL-encoded once
// more or not (Harbor's clients encode it twice, others once). A form the
// key does not take is refused with 400, naming the key and what it takes.
func parseQKeys(q string, allowed ...qKey) (map[string]qTerm, error) {
	q = unescapeQ(q)
	out := map[string]qTerm{}
	terms, err := splitQ(q)
	if err != nil {
		return nil, err
	}
	if len(terms) > maxQTerms {
		return nil, badRequest(fmt.Sprintf("q has %d terms: at most %d", len(terms), maxQTerms))
	}
	for _, term := range terms {
		key, val, ok := strings.Cut(term, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return nil, badRequest(fmt.Sprintf("q term %q: want key=value, key=~value, key=[min~max], key={a b} or key=(a b)", term))
		}
		i := slices.IndexFunc(allowed, func(k qKey) bool { return k.name == key })
		if i < 0 {
			names := make([]string, len(allowed))
			for j, k := range allowed {
				names[j] = k.name
			}
			return nil, badRequest(fmt.Sprintf("q key %q is not supported here; supported keys: %s", key, strings.Join(names, ", ")))
		}
		if _, dup := out[key]; dup {
			return nil, badRequest(fmt.Sprintf("q key %q given twice", key))
		}
		t, err := parseQValue(key, strings.TrimSpace(val), allowed[i])
		if err != nil {
			return nil, err
		}
		out[key] = t
	}
	return out, nil
}

// splitQ splits q at the commas outside brackets.
func splitQ(q string) ([]string, error) {
	var terms []string
	depth, start := 0, 0
	for i, c := range q {
		switch c {
		case '[', '{', '(':
			depth++
		case ']', '}', ')':
			depth--
		case ',':
			if depth == 0 {
				terms = append(terms, q[start:i])
				start = i + 1
			}
		}
		if depth < 0 || depth > 1 {
			return nil, badRequest(fmt.Sprintf("q %q: unbalanced or nested brackets", q))
		}
	}
	if depth != 0 {
		return nil, badRequest(fmt.Sprintf("q %q: unbalanced brackets", q))
	}
	terms = append(terms, q[start:])
	out := terms[:0]
	for _, t := range terms {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out, nil
}

// parseQValue reads the value side of one term.
func parseQValue(key, val string, k qKey) (qTerm, error) {
	if val == "" {
		return qTerm{}, badRequest(fmt.Sprintf("q key %q has an empty value", key))
	}
	refuse := func(form string) (qTerm, error) {
		takes := "key=value and key=~value"
		if k.ranges {
			takes += " and key=[min~max]"
		}
		if k.sets {
			takes += ", key={a b} (any) and key=(a b) (all)"
		}
		return qTerm{}, badRequest(fmt.Sprintf("q key %q: %s is not supported for it; it takes %s", key, form, takes))
	}
	switch val[0] {
	case '[':
		if !k.ranges {
			return refuse("a range")
		}
		body, ok := strings.CutSuffix(val[1:], "]")
		lo, hi, ok2 := strings.Cut(body, "~")
		if !ok || !ok2 || (strings.TrimSpace(lo) == "" && strings.TrimSpace(hi) == "") {
			return qTerm{}, badRequest(fmt.Sprintf("q key %q: range %q: want [min~max]", key, val))
		}
		return qTerm{kind: qRange, lo: unquote(strings.TrimSpace(lo)), hi: unquote(strings.TrimSpace(hi))}, nil
	case '{', '(':
		// As Harbor's swagger says: {a b} is a union, (a b) an intersection.
		kind, closer, form := qAny, "}", "a {union}"
		if val[0] == '(' {
			kind, closer, form = qAll, ")", "an (intersection)"
		}
		if !k.sets {
			return refuse(form)
		}
		body, ok := strings.CutSuffix(val[1:], closer)
		values := strings.Fields(body)
		if !ok || len(values) == 0 || len(values) > maxQValues {
			return qTerm{}, badRequest(fmt.Sprintf("q key %q: %q: want 1 to %d values separated by spaces", key, val, maxQValues))
		}
		for i := range values {
			values[i] = unquote(values[i])
		}
		return qTerm{kind: kind, values: values}, nil
	}
	t := qTerm{kind: qExact}
	if v, ok := strings.CutPrefix(val, "~"); ok {
		t.kind, t.fuzzy, val = qFuzzy, true, strings.TrimSpace(v)
	}
	t.value = unquote(val)
	if t.value == "" {
		return qTerm{}, badRequest(fmt.Sprintf("q key %q has an empty value", key))
	}
	return t, nil
}

// unquote strips one pair of matching quotes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// matches tells whether s satisfies the term, for endpoints that filter in
// memory: exact equality, fuzzy substring, range by string order (give
// numbers zero-padded, see sInt), every value of an (intersection) equal
// to s, any value of a {union}.
func (t qTerm) matches(s string) bool {
	switch t.kind {
	case qFuzzy:
		return strings.Contains(s, t.value)
	case qRange:
		return (t.lo == "" || s >= t.lo) && (t.hi == "" || s <= t.hi)
	case qAll:
		for _, v := range t.values {
			if v != s {
				return false
			}
		}
		return true
	case qAny:
		return slices.Contains(t.values, s)
	}
	return s == t.value
}

// unescapeQ undoes the second URL encoding Harbor's clients give q (the
// first is undone with the rest of the query string); a q sent encoded
// once is left as it is.
func unescapeQ(q string) string {
	if strings.Contains(q, "%") {
		if dec, err := url.QueryUnescape(q); err == nil {
			return dec
		}
	}
	return q
}
