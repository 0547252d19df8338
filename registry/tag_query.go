package registry

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// TagOrder is the order of a tag listing.
type TagOrder int

// Tag orders; ties are broken by name.
const (
	TagByName     TagOrder = iota // the default
	TagByPushTime                 // when the tag was pointed at its artifact
	TagByPullTime                 // last pull; never pulled first
	TagByID                       // TagTime.ID
)

// TagQuery selects the tags of one repository.
type TagQuery struct {
	Repo         string
	Names        []string // exactly one of these (nil: any; at most 100)
	NameContains string   // a name containing this
	Order        TagOrder
	Desc         bool // reverse Order
}

// RepoTag is one tag of a repository with the artifact it points at.
type RepoTag struct {
	TagTime
	RepositoryID int64
	Digest       digest.Digest
	ArtifactID   int64
	MediaType    string
	ArtifactType string
	Size         int64 // the artifact's, as Artifact.TotalSize
}

// FindTags lists the tags of q.Repo that q selects, in q's order, with
// their artifacts, and the total count of matches: one paged query, so a
// repository of many thousands of tags lists as fast as a small one. A
// repository that does not exist is ErrNotFound.
func (rg *Registry) FindTags(ctx context.Context, q TagQuery, page core.Page) ([]RepoTag, int, error) {
	if q.Repo == "" {
		return nil, 0, core.New(core.ErrInvalid, "a tag query names a repository")
	}
	if len(q.Names) > maxQueryValues {
		return nil, 0, core.New(core.ErrInvalid, "too many tag names in one query")
	}
	conds, args := []string{"t.repo = ?"}, []any{q.Repo}
	if q.Names != nil {
		if len(q.Names) == 0 {
			conds = append(conds, "1 = 0")
		} else {
			conds = append(conds, "t.name IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(q.Names)), ", ")+")")
			for _, n := range q.Names {
				args = append(args, n)
			}
		}
	}
	if q.NameContains != "" {
		conds = append(conds, `t.name LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(q.NameContains)+"%")
	}
	where := strings.Join(conds, " AND ")
	var total int
	if err := rg.db.QueryRow(ctx, `SELECT COUNT(*) FROM registry_tags t WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 {
		if ok, err := rg.meta.repoExists(ctx, q.Repo); err != nil || !ok {
			return nil, 0, errors.Join(err, notFound("repository", q.Repo))
		}
		return nil, 0, nil
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	order := "t.name" + dir
	switch q.Order {
	case TagByPushTime:
		order = "t.updated_at" + dir + ", t.name"
	case TagByPullTime:
		order = "t.pulled_at" + dir + ", t.name"
	case TagByID:
		order = "COALESCE(i.id, 0)" + dir + ", t.name"
	}
	rows, err := rg.db.Query(ctx, `SELECT COALESCE(i.id, 0), t.name, t.digest, t.updated_at, t.pulled_at,
			COALESCE(ri.id, 0), COALESCE(ai.id, 0), m.media_type, m.artifact_type, `+artifactSize("m", "t.repo")+`
		FROM registry_tags t JOIN registry_manifests m ON m.digest = t.digest
		LEFT JOIN registry_tag_ids i ON i.repo = t.repo AND i.name = t.name
		LEFT JOIN registry_artifact_ids ai ON ai.repo = t.repo AND ai.digest = t.digest
		LEFT JOIN registry_repository_ids ri ON ri.repo = t.repo
		WHERE `+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, clampLimit(page.Limit, rg.maxPageSize), max(page.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []RepoTag
	for rows.Next() {
		var t RepoTag
		var d string
		var pushed, pulled int64
		if err := rows.Scan(&t.ID, &t.Name, &d, &pushed, &pulled, &t.RepositoryID, &t.ArtifactID, &t.MediaType, &t.ArtifactType, &t.Size); err != nil {
			return nil, 0, err
		}
		t.Digest, t.PushedAt, t.PulledAt = digest.Digest(d), time.Unix(0, pushed), unixOrZero(pulled)
		out = append(out, t)
	}
	return out, total, rows.Err()
}
