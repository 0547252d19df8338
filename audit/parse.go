package audit

import (
	"errors"
	"fmt"
	"github.com/berthlabs/berth/core"
	"strings"
	"time"
)

// queryKeys are the keys ParseQuery accepts: Harbor's audit-log keys
// (username, operation, resource, resource_type, op_time) and this
// package's extra fields.
const queryKeys = "username, operation, resource, resource_type, project, actor_kind, attempted_user, result, op_time"

// ParseQuery parses a Harbor-style q parameter (already URL-decoded) into
// a Filter: comma-separated terms, each "key=value" (exact), "key=~value"
// (resource only; a prefix match, where Harbor matches anywhere, so that
// it can use an index) or "op_time=[from~to]" (inclusive range, either
// end may be empty). Times are "2006-01-02 15:04:05" (UTC, as Harbor
// writes them), "2006-01-02" or RFC 3339; a "to" given to the second or
// the day covers all of it. Values may be quoted with " or '. Unknown keys,
// repeated keys and Harbor's lists ({a b}, (a b)) are refused.
//
//	operation=push,resource=~library/,op_time=[2024-01-01 00:00:00~2024-12-31 23:59:59]
func ParseQuery(q string) (Filter, error) {
	var f Filter
	terms, err := splitTerms(q)
	if err != nil {
		return f, err
	}
	seen := map[string]bool{}
	for _, term := range terms {
		key, val, ok := strings.Cut(term, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return f, fmt.Errorf("query term %q: want key=value, key=~value or key=[from~to]: %w", term, core.ErrInvalid)
		}
		if seen[key] {
			return f, fmt.Errorf("query key %q given twice: %w", key, core.ErrInvalid)
		}
		seen[key] = true
		prefix := strings.HasPrefix(val, "~")
		if prefix {
			val = val[1:]
		}
		if err := f.set(key, strings.TrimSpace(val), prefix); err != nil {
			return f, fmt.Errorf("query key %q: %w (%w)", key, err, core.ErrInvalid)
		}
	}
	return f, nil
}

// set applies one parsed term to f.
func (f *Filter) set(key, val string, prefix bool) error {
	if val == "" {
		return errors.New("empty value")
	}
	if c := val[0]; c == '{' || c == '(' {
		return errors.New("lists are not supported")
	}
	if key == "op_time" {
		if prefix || val[0] != '[' {
			return errors.New("want a range [from~to]")
		}
		return f.setRange(val)
	}
	if val[0] == '[' {
		return errors.New("ranges are only supported for op_time")
	}
	val = unquote(val)
	field := map[string]*string{
		"username": &f.Actor, "operation": &f.Action, "resource": &f.Resource,
		"resource_type": &f.ResourceType, "project": &f.Project,
		"actor_kind": &f.ActorKind, "result": &f.Result, "attempted_user": &f.AttemptedUser,
	}[key]
	switch {
	case field == nil:
		return fmt.Errorf("unknown key; supported keys: %s", queryKeys)
	case prefix && key != "resource":
		return errors.New("prefix match (=~) is only supported for resource")
	}
	*field = val
	f.ResourceExact = f.ResourceExact || (key == "resource" && !prefix)
	return nil
}

// setRange parses "[from~to]".
func (f *Filter) setRange(val string) error {
	if !strings.HasSuffix(val, "]") {
		return fmt.Errorf("unterminated range %q", val)
	}
	lo, hi, ok := strings.Cut(val[1:len(val)-1], "~")
	if !ok {
		return fmt.Errorf("range %q: want [from~to]", val)
	}
	var err error
	if f.From, _, err = parseTime(lo); err != nil {
		return err
	}
	var span time.Duration
	if f.To, span, err = parseTime(hi); err != nil {
		return err
	}
	if !f.To.IsZero() {
		f.To = f.To.Add(span - time.Nanosecond)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return fmt.Errorf("range %q ends before it starts", val)
	}
	return nil
}

// parseTime parses one end of a time range and reports the span its
// precision names (a second, a day), or zero for an empty end.
func parseTime(s string) (time.Time, time.Duration, error) {
	s = unquote(strings.TrimSpace(s))
	if s == "" {
		return time.Time{}, 0, nil
	}
	for _, l := range []struct {
		layout string
		span   time.Duration
	}{{time.DateTime, time.Second}, {time.DateOnly, 24 * time.Hour}, {time.RFC3339Nano, time.Nanosecond}} {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t.UTC(), l.span, nil
		}
	}
	return time.Time{}, 0, fmt.Errorf("time %q: want \"2006-01-02 15:04:05\", \"2006-01-02\" or RFC 3339", s)
}

// unquote strips one pair of matching " or ' quotes.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// splitTerms splits q at the commas outside quotes and brackets, dropping
// empty terms.
func splitTerms(q string) ([]string, error) {
	var terms []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i <= len(q); i++ {
		if i == len(q) || (q[i] == ',' && depth == 0 && quote == 0) {
			if t := strings.TrimSpace(q[start:i]); t != "" {
				terms = append(terms, t)
			}
			start = i + 1
			continue
		}
		switch c := q[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{' || c == '(':
			depth++
		case c == ']' || c == '}' || c == ')':
			depth--
		}
	}
	if depth != 0 || quote != 0 {
		return nil, fmt.Errorf("query %q: unbalanced brackets or quotes: %w", q, core.ErrInvalid)
	}
	return terms, nil
}
