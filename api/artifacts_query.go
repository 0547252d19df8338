package api

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
)

// artifactQKeys are the q keys of artifact listings, as Harbor's.
func artifactQKeys() []qKey {
	return []qKey{qSets("tags"), qSets("type"), qSets("media_type"), qSets("digest"), qSets("label_id"),
		qRanged("push_time"), qRanged("pull_time"), qRanged("size")}
}

// artifactQ documents the q of artifact listings.
var artifactQ = param{"q", "string", "Filter, Harbor's q: tags (=v, =~v, ={a b} any, =(a b) all; tags=* tagged, tags=nil untagged), " +
	"type (IMAGE, CHART, UNKNOWN), media_type, digest (=v or a list), label_id, push_time and pull_time " +
	"(=[from~to], \"2006-01-02 15:04:05\" or RFC 3339), size (=[min~max] bytes); sort: push_time (default -push_time), pull_time, size, id", false}

// tagQ documents the q of tag listings.
var tagQ = param{"q", "string", "Filter, Harbor's q: name (=v, =~substring, ={a b} any of); sort: name, push_time, pull_time, id", false}

// artifactSorts maps Harbor's sort fields of artifacts to the store's orders.
func artifactSorts() map[string]registry.ArtifactOrder {
	return map[string]registry.ArtifactOrder{
		"push_time": registry.ByPushTime, "pull_time": registry.ByPullTime, "size": registry.BySize, "id": registry.ByID}
}

// artifactListing is a parsed artifact listing: what the store selects and
// orders, and the filters applied in memory (an artifact's Harbor type and
// labels are not columns of the store).
type artifactListing struct {
	q       registry.ArtifactQuery
	kinds   *qTerm
	labelID []int64 // any of ({union}; allLbl: every one, an (intersection))
	allLbl  bool
	latest  bool // only the newest artifact of each repository
}

// parseArtifactListing reads q and sort (default newest push first).
func parseArtifactListing(c *call) (artifactListing, error) {
	var l artifactListing
	l.q.Order, l.q.Desc = registry.ByPushTime, true
	keys, err := parseSort(c.r.URL.Query().Get("sort"), "id", "pull_time", "push_time", "size")
	if err != nil {
		return l, err
	}
	if len(keys) > 1 {
		return l, badRequest("sort: artifacts sort by one field")
	}
	if len(keys) == 1 {
		l.q.Order, l.q.Desc = artifactSorts()[keys[0].field], keys[0].desc
	}
	terms, err := parseQKeys(c.r.URL.Query().Get("q"), artifactQKeys()...)
	if err != nil {
		return l, err
	}
	for key, t := range terms {
		if err := l.apply(key, t); err != nil {
			return l, err
		}
	}
	return l, nil
}

// apply adds one q term to the listing.
func (l *artifactListing) apply(key string, t qTerm) error {
	switch key {
	case "tags":
		switch {
		case t.kind == qExact && t.value == "*":
			l.q.Tagged = new(true)
		case t.kind == qExact && t.value == "nil":
			l.q.Tagged = new(false)
		case t.kind == qFuzzy:
			l.q.TagContains = t.value
		case t.kind == qAll:
			l.q.AllTags = t.values
		default:
			l.q.Tags = termValues(t)
		}
	case "type":
		if t.kind == qFuzzy {
			return exactOnly(key)
		}
		l.kinds = &t
	case "media_type", "digest":
		if t.kind == qFuzzy {
			return exactOnly(key)
		}
		if key == "digest" {
			l.q.Digests = termValues(t)
		} else {
			l.q.MediaTypes = termValues(t)
		}
	case "label_id":
		if t.kind == qFuzzy {
			return exactOnly(key)
		}
		vals := termValues(t)
		if t.kind == qAll {
			vals, l.allLbl = slices.Compact(slices.Sorted(slices.Values(t.values))), true
		}
		for _, v := range vals {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				return badRequest(fmt.Sprintf("q key label_id: %q is not a label id", v))
			}
			l.labelID = append(l.labelID, id)
		}
	case "push_time", "pull_time":
		from, to, err := timeRange(key, t)
		if err != nil {
			return err
		}
		if key == "push_time" {
			l.q.PushedFrom, l.q.PushedTo = from, to
		} else {
			l.q.PulledFrom, l.q.PulledTo = from, to
		}
	case "size":
		if t.kind != qRange && t.kind != qExact {
			return badRequest("q key size: want size=bytes or size=[min~max]")
		}
		lo, hi := t.lo, t.hi
		if t.kind == qExact {
			lo, hi = t.value, t.value
		}
		for _, e := range []struct {
			s   string
			dst **int64
		}{{lo, &l.q.SizeMin}, {hi, &l.q.SizeMax}} {
			if e.s == "" {
				continue
			}
			n, err := strconv.ParseInt(e.s, 10, 64)
			if err != nil || n < 0 {
				return badRequest(fmt.Sprintf("q key size: %q is not a number of bytes", e.s))
			}
			*e.dst = &n
		}
	}
	return nil
}

// termValues are the values a single-valued field may take to match t:
// one for key=v, any of a {union}; of an (intersection), the one value all name
// (none when they differ).
func termValues(t qTerm) []string {
	switch t.kind {
	case qAny:
		return t.values
	case qAll:
		if slices.ContainsFunc(t.values, func(v string) bool { return v != t.values[0] }) {
			return []string{}
		}
		return t.values[:1]
	}
	return []string{t.value}
}

func exactOnly(key string) error {
	return badRequest(fmt.Sprintf("q key %q: ~ (fuzzy) is not supported for it; it takes key=value, key={a b} (any) and key=(a b) (all)", key))
}

// timeRange reads a time term: a [from~to] range, or one instant.
func timeRange(key string, t qTerm) (from, to time.Time, err error) {
	lo, hi := t.lo, t.hi
	switch t.kind {
	case qRange:
	case qExact:
		lo, hi = t.value, t.value
	default:
		return from, to, badRequest(fmt.Sprintf("q key %q: want %s=[from~to]", key, key))
	}
	parse := func(s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{time.DateTime, time.DateOnly, time.RFC3339Nano} {
			if v, err := time.Parse(layout, s); err == nil {
				return v.UTC(), nil
			}
		}
		return time.Time{}, badRequest(fmt.Sprintf("q key %q: time %q: want \"2006-01-02 15:04:05\", \"2006-01-02\" or RFC 3339", key, s))
	}
	if from, err = parse(lo); err != nil {
		return from, to, err
	}
	to, err = parse(hi)
	return from, to, err
}

// inMemory tells whether a filter the store cannot apply is set.
func (l artifactListing) inMemory() bool { return l.kinds != nil || l.labelID != nil || l.latest }

// list answers one page of p's artifacts the listing selects (scope set
// in l.q), with the total count.
func (a *API) listArtifactsPage(c *call, p project.Project, l artifactListing, pg page) ([]registry.Artifact, int, error) {
	q := l.q
	find := func(cp core.Page) ([]registry.Artifact, int, error) {
		return a.deps.Registry.FindArtifacts(c.ctx(), q, cp)
	}
	if !l.inMemory() {
		return find(core.Page{Offset: pg.offset(), Limit: pg.size})
	}
	if l.latest { // newest first to find each repository's latest; sorted as asked below
		q.Order, q.Desc = registry.ByPushTime, true
	}
	all, total, err := listAll(find)
	if err != nil {
		return nil, 0, err
	}
	if total > len(all) {
		return nil, 0, badRequest(fmt.Sprintf("q: %d artifacts are too many to filter by type, label_id or latest_in_repository (at most %d); narrow the listing with other keys", total, allPageSize))
	}
	seen := map[string]bool{}
	kept := all[:0]
	for _, art := range all {
		if l.kinds != nil && !l.kinds.matches(artifactKind(art)) {
			continue
		}
		if l.latest {
			if seen[art.Repository] {
				continue
			}
			seen[art.Repository] = true
		}
		if l.labelID != nil {
			ok, err := a.hasLabels(c, p, art, l.labelID, l.allLbl)
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				continue
			}
		}
		kept = append(kept, art)
	}
	if l.latest {
		sortArtifacts(kept, l.q.Order, l.q.Desc)
	}
	return pageOf(kept, pg), len(kept), nil
}

// hasLabels tells whether art carries any (all: every one) of ids.
func (a *API) hasLabels(c *call, p project.Project, art registry.Artifact, ids []int64, all bool) (bool, error) {
	if a.cfg.labels == nil {
		return false, nil
	}
	ls, err := a.cfg.labels.LabelsOf(c.ctx(), p.ID, art.Repository, art.Digest)
	if err != nil {
		return false, err
	}
	n := 0
	for _, id := range ids {
		if slices.ContainsFunc(ls, func(l label.Label) bool { return l.ID == id }) {
			n++
		}
	}
	if all {
		return n == len(ids), nil
	}
	return n > 0, nil
}

// latestParam documents latest_in_repository.
var latestParam = param{"latest_in_repository", "boolean", "Only the most recently pushed artifact of each repository (default false)", false}

// sortArtifacts sorts artifacts held in memory as the store orders them.
func sortArtifacts(arts []registry.Artifact, o registry.ArtifactOrder, desc bool) {
	field := map[registry.ArtifactOrder]sortField[registry.Artifact]{
		registry.ByPushTime: func(a *registry.Artifact) string { return sTime(a.PushedAt) },
		registry.ByPullTime: func(a *registry.Artifact) string { return sTime(a.PulledAt) },
		registry.BySize:     func(a *registry.Artifact) string { return sInt(a.TotalSize) },
		registry.ByID:       func(a *registry.Artifact) string { return sInt(a.ID) },
	}[o]
	sortBy(arts, []sortKey{{field: "f", desc: desc}}, map[string]func(*registry.Artifact) string{"f": field})
}
