package api

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
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

// sortField reads one sortable field of T as a string that orders as the
// field does (see sInt and sTime).
type sortField[T any] func(*T) string

// sInt and sTime render numbers and times so that they sort as strings.
func sInt(n int64) string { return fmt.Sprintf("%+020d", n) }
func sTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000")
}

// listPage answers one page of a listing with Harbor's sort parameter:
// without sort (or with one matching the store's own order, deflt), list
// serves the page itself; with another, up to allPageSize items are read,
// sorted in memory by fields and cut. A listing larger than that cannot be
// sorted another way (400), rather than sorted wrongly.
func listPage[T any](c *call, pg page, deflt string, fields map[string]sortField[T], list func(core.Page) ([]T, int, error)) ([]T, int, error) {
	allowed := make([]string, 0, len(fields))
	for f := range fields {
		allowed = append(allowed, f)
	}
	slices.Sort(allowed)
	raw := c.r.URL.Query().Get("sort")
	keys, err := parseSort(raw, allowed...)
	if err != nil {
		return nil, 0, err
	}
	if len(keys) == 0 || strings.TrimSpace(raw) == deflt {
		return list(core.Page{Offset: pg.offset(), Limit: pg.size})
	}
	all, total, err := listAll(list)
	if err != nil {
		return nil, 0, err
	}
	if total > len(all) {
		return nil, 0, badRequest(fmt.Sprintf("sort: %d items are too many to sort by %q (at most %d); narrow the listing with q", total, raw, allPageSize))
	}
	plain := make(map[string]func(*T) string, len(fields))
	for k, f := range fields {
		plain[k] = f
	}
	sortBy(all, keys, plain)
	return pageOf(all, pg), total, nil
}

// listAll reads up to allPageSize items, page by page as the lister
// serves them (stores cap a page below that).
func listAll[T any](list func(core.Page) ([]T, int, error)) ([]T, int, error) {
	var all []T
	for {
		items, total, err := list(core.Page{Offset: len(all), Limit: allPageSize - len(all)})
		if err != nil {
			return nil, 0, err
		}
		all = append(all, items...)
		if len(items) == 0 || len(all) >= total || len(all) >= allPageSize {
			return all, total, nil
		}
	}
}
