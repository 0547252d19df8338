package api

import (
	"github.com/berthlabs/berth/rbac"
)

// listArtifactsOfProject lists the artifacts of every repository of a
// project, newest first unless sort says otherwise, with Harbor's q keys
// and latest_in_repository.
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
	l, err := parseArtifactListing(c)
	if err != nil {
		return err
	}
	if l.latest, err = boolQuery(c, "latest_in_repository", false); err != nil {
		return err
	}
	p, err := c.projectFor(permOn(rbac.ResourceArtifact, rbac.ActionList))
	if err != nil {
		return err
	}
	l.q.Prefix = p.Name + "/"
	arts, total, err := a.listArtifactsPage(c, p, l, pg)
	if err != nil {
		return err
	}
	out, err := a.artifactsJSON(c, p, extras, tags, arts)
	if err != nil {
		return err
	}
	return c.paged(pg, total, out)
}
