package registry

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
)

// ArtifactOrder is the order of an artifact listing.
type ArtifactOrder int

// Artifact orders; ties are broken by repository and digest.
const (
	ByPushTime ArtifactOrder = iota // when the manifest was pushed to the repository (the default)
	ByPullTime                      // last pull; never pulled first
	BySize                          // manifest plus what it references, as Artifact.TotalSize
	ByID                            // Artifact.ID
)

// ArtifactQuery selects artifacts. Every field set narrows the listing;
// list fields keep the artifacts matching any of their values.
type ArtifactQuery struct {
	Repo   string // exactly this repository, or
	Prefix string // every repository whose name starts with this (a project's: "<project>/")

	Digests    []string // the manifest's digest
	MediaTypes []string // the manifest's media type or its artifact type
	Tags       []string // one of its tags
	AllTags    []string // every one of these tags
	// TagContains keeps the artifacts with a tag containing this.
	TagContains string
	// Tagged keeps the tagged (true) or untagged (false) artifacts.
	Tagged *bool

	PushedFrom, PushedTo time.Time // zero: open
	PulledFrom, PulledTo time.Time // zero: open; a bounded range drops the never pulled
	SizeMin, SizeMax     *int64

	Order ArtifactOrder
	Desc  bool // reverse Order
}

// maxQueryValues bounds each list of an ArtifactQuery.
const maxQueryValues = 100

// FindArtifacts lists the artifacts q selects, in q's order, with tags,
// and the total count of matches. A Repo that does not exist is
// ErrNotFound.
func (rg *Registry) FindArtifacts(ctx context.Context, q ArtifactQuery, page core.Page) ([]Artifact, int, error) {
	conds, args, err := q.where()
	if err != nil {
		return nil, 0, err
	}
	where := strings.Join(conds, " AND ")
	var total int
	if err := rg.db.QueryRow(ctx, `SELECT COUNT(*) FROM registry_repo_manifests rm JOIN registry_manifests m ON m.digest = rm.digest
		LEFT JOIN registry_artifact_ids ai ON ai.repo = rm.repo AND ai.digest = rm.digest WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 && q.Repo != "" {
		if ok, err := rg.meta.repoExists(ctx, q.Repo); err != nil || !ok {
			return nil, 0, errors.Join(err, notFound("repository", q.Repo))
		}
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	order := "rm.created_at" + dir
	switch q.Order {
	case ByPullTime:
		order = "rm.pulled_at" + dir
	case BySize:
		order = artifactSizeRM + dir
	case ByID:
		order = "COALESCE(ai.id, 0)" + dir
	}
	out, err := rg.artifactsOrdered(ctx, where, args, order+", rm.repo, m.digest", page)
	return out, total, err
}

// where renders q's conditions (never empty: a query names its scope).
func (q ArtifactQuery) where() ([]string, []any, error) {
	var conds []string
	var args []any
	switch {
	case q.Repo != "":
		conds, args = append(conds, "rm.repo = ?"), append(args, q.Repo)
	case q.Prefix != "":
		conds, args = append(conds, `rm.repo LIKE ? ESCAPE '\'`), append(args, likePrefix(q.Prefix))
	default:
		return nil, nil, core.New(core.ErrInvalid, "an artifact query names a repository or a prefix")
	}
	for _, l := range [][]string{q.Digests, q.MediaTypes, q.Tags, q.AllTags} {
		if len(l) > maxQueryValues {
			return nil, nil, core.New(core.ErrInvalid, "too many values in one artifact query")
		}
	}
	// in renders "col IN (...)" for each of cols, or-ed.
	in := func(vals []string, cols ...string) {
		if vals == nil {
			return
		}
		if len(vals) == 0 {
			conds = append(conds, "1 = 0")
			return
		}
		ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")"
		var or []string
		for _, col := range cols {
			or = append(or, col+" IN "+ph)
			for _, v := range vals {
				args = append(args, v)
			}
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	in(q.Digests, "rm.digest")
	in(q.MediaTypes, "m.media_type", "m.artifact_type")
	const tagged = `EXISTS (SELECT 1 FROM registry_tags t WHERE t.repo = rm.repo AND t.digest = rm.digest`
	switch {
	case q.Tags == nil:
	case len(q.Tags) == 0:
		conds = append(conds, "1 = 0")
	default:
		conds = append(conds, tagged+" AND t.name IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(q.Tags)), ", ")+"))")
		for _, v := range q.Tags {
			args = append(args, v)
		}
	}
	for _, tag := range q.AllTags {
		conds, args = append(conds, tagged+" AND t.name = ?)"), append(args, tag)
	}
	if q.TagContains != "" {
		conds = append(conds, tagged+` AND t.name LIKE ? ESCAPE '\')`)
		args = append(args, "%"+escapeLike(q.TagContains)+"%")
	}
	if q.Tagged != nil {
		if *q.Tagged {
			conds = append(conds, tagged+")")
		} else {
			conds = append(conds, "NOT "+tagged+")")
		}
	}
	rng := func(col string, from, to time.Time) {
		if !from.IsZero() {
			conds, args = append(conds, col+" >= ?"), append(args, from.UnixNano())
		}
		if !to.IsZero() {
			conds, args = append(conds, col+" <= ?"), append(args, to.UnixNano())
		}
	}
	rng("rm.created_at", q.PushedFrom, q.PushedTo)
	if !q.PulledFrom.IsZero() || !q.PulledTo.IsZero() {
		conds = append(conds, "rm.pulled_at <> 0")
	}
	rng("rm.pulled_at", q.PulledFrom, q.PulledTo)
	if q.SizeMin != nil {
		conds, args = append(conds, artifactSizeRM+" >= ?"), append(args, *q.SizeMin)
	}
	if q.SizeMax != nil {
		conds, args = append(conds, artifactSizeRM+" <= ?"), append(args, *q.SizeMax)
	}
	return conds, args, nil
}
