package api

import (
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// RepositoryTag is one tag of a repository with the artifact it points
// at: the rows of a "view by tag" listing, which Harbor's portal builds
// by walking artifacts and berth answers with one paged query.
type RepositoryTag struct {
	Tag
	Digest string `json:"digest" doc:"the digest of the artifact the tag points at"`
	Size   int64  `json:"size" doc:"the artifact's size"`
	Type   string `json:"type" doc:"the artifact's type: IMAGE, CHART or UNKNOWN"`
}

// repoTagListDoc documents the q and sort of the repository's tag listing.
const repoTagListDoc = "q keys: name=value, name=~substring, name={a b} any of; sort: name (default), push_time, pull_time, id"

// repoTagSorts maps the sort fields of the repository's tag listing.
func repoTagSorts() map[string]registry.TagOrder {
	return map[string]registry.TagOrder{"name": registry.TagByName, "push_time": registry.TagByPushTime,
		"pull_time": registry.TagByPullTime, "id": registry.TagByID}
}

// listRepositoryTags lists every tag of a repository, paged, sorted and
// filtered by the store.
func (a *API) listRepositoryTags(c *call) error {
	_, repo, err := c.repository(permOn(rbac.ResourceTag, rbac.ActionList))
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	q := registry.TagQuery{Repo: repo}
	keys, err := parseSort(c.r.URL.Query().Get("sort"), "id", "name", "pull_time", "push_time")
	if err != nil {
		return err
	}
	if len(keys) > 1 {
		return badRequest("sort: tags sort by one field")
	}
	if len(keys) == 1 {
		q.Order, q.Desc = repoTagSorts()[keys[0].field], keys[0].desc
	}
	terms, err := parseQKeys(c.r.URL.Query().Get("q"), qSets("name"))
	if err != nil {
		return err
	}
	if t, ok := terms["name"]; ok {
		if t.kind == qFuzzy {
			q.NameContains = t.value
		} else {
			q.Names = termValues(t)
		}
	}
	tags, total, err := a.deps.Registry.FindTags(c.ctx(), q, core.Page{Offset: pg.offset(), Limit: pg.size})
	if err != nil {
		return err
	}
	out := make([]RepositoryTag, 0, len(tags))
	for _, t := range tags {
		art := registry.Artifact{ID: t.ArtifactID, RepositoryID: t.RepositoryID, Repository: repo, Digest: t.Digest, MediaType: t.MediaType,
			ArtifactType: t.ArtifactType, Size: t.Size}
		j := RepositoryTag{Tag: tagJSON(art, t.TagTime), Digest: t.Digest.String(), Size: t.Size, Type: artifactKind(art)}
		out = append(out, j)
	}
	return c.paged(pg, total, out)
}
