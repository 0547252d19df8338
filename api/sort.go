package api

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// sortKey is one field of a Harbor sort parameter: "name" ascending,
// "-name" descending.
type sortKey struct {
	field string
	desc  bool
}

// parseSort reads the sort parameter (comma-separated fields, '-' for
// descending) with the fields the endpoint sorts by; others are refused
// with 400 naming the ones it takes.
func parseSort(s string, allowed ...string) ([]sortKey, error) {
	var keys []sortKey
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k := sortKey{}
		f, k.desc = strings.CutPrefix(f, "-")
		k.field = strings.ToLower(strings.TrimSpace(f))
		if !slices.Contains(allowed, k.field) {
			return nil, badRequest(fmt.Sprintf("sort by %q is not supported here; supported fields: %s", f, strings.Join(allowed, ", ")))
		}
		if slices.ContainsFunc(keys, func(o sortKey) bool { return o.field == k.field }) {
			return nil, badRequest(fmt.Sprintf("sort field %q given twice", k.field))
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// sortBy sorts items held in memory by keys, each field read by the
// function of that name in fields; stable, so equal items keep the
// listing's own order.
func sortBy[T any](items []T, keys []sortKey, fields map[string]func(*T) string) {
	if len(keys) == 0 {
		return
	}
	slices.SortStableFunc(items, func(a, b T) int {
		for _, k := range keys {
			get := fields[k.field]
			c := cmp.Compare(get(&a), get(&b))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}
