package api

import (
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
)

// listArtifactsOfProject lists the artifacts of every repository of a
// project, newest first.
func (a *API) listArtifactsOfProject(c *call) error {
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	tags, err := withTags(c)
	if err != nil {
		return err
	}
	extras, err := parseExtras(c)
	if err != nil {
		return err
	}
	p, err := c.projectFor(permOn(rbac.ResourceArtifact, rbac.ActionList))
	if err != nil {
		return err
	}
	arts, total, err := a.deps.Registry.ListArtifactsUnder(c.ctx(), p.Name+"/", core.Page{Offset: pg.offset(), Limit: pg.size})
	if err != nil {
		return err
	}
	out := make([]Artifact, 0, len(arts))
	for _, art := range arts {
		j, err := a.withExtras(c, p, extras, art, a.withChartAttrs(c, artifactJSON(p, art, tags)))
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	return c.paged(pg, total, out)
}
