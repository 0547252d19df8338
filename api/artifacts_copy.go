package api

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// artifactLocation is the API path of an artifact.
func artifactLocation(p project.Project, repo, ref string) string {
	rel := strings.TrimPrefix(repo, p.Name+"/")
	return BasePath + "/projects/" + url.PathEscape(p.Name) + "/repositories/" + url.PathEscape(url.PathEscape(rel)) +
		"/artifacts/" + url.PathEscape(ref)
}

// createTag points a new tag at an artifact. It is a push of the tag: the
// caller needs push on the repository, and the registry's push gates
// (immutability rules among them) decide it as they decide a push.
func (a *API) createTag(c *call) error {
	req, err := decodeAs[Tag](c)
	if err != nil {
		return err
	}
	if !registry.ValidTag(req.Name) {
		return badRequest(fmt.Sprintf("tag name %s: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", quoteShort(req.Name)))
	}
	p, art, err := a.artifact(c, permOn(rbac.ResourceTag, rbac.ActionCreate))
	if err != nil {
		return err
	}
	if err := c.require(p.Name, art.Repository, permOn(rbac.ResourceRepository, rbac.ActionPush)); err != nil {
		return err
	}
	if err := a.deps.Registry.TagArtifact(c.ctx(), art.Repository, art.Digest, req.Name); err != nil {
		return err
	}
	return c.created(artifactLocation(p, art.Repository, art.Digest.String())+"/tags/"+req.Name, nil)
}

// parseFrom reads a copy's source: project/repository:tag or
// project/repository@digest.
func parseFrom(from string) (project, repo, ref string, err error) {
	bad := func(why string) error {
		return badRequest(fmt.Sprintf("from %s: %s; want <project>/<repository>:<tag> or <project>/<repository>@<digest>", quoteShort(from), why))
	}
	if from == "" {
		return "", "", "", bad("missing")
	}
	if i := strings.Index(from, "@"); i >= 0 {
		repo, ref = from[:i], from[i+1:]
		if _, err := registry.ParseDigest(ref); err != nil {
			return "", "", "", bad("invalid digest")
		}
	} else {
		i := strings.LastIndex(from, ":")
		if i < 0 || strings.Contains(from[i:], "/") {
			return "", "", "", bad("no tag or digest")
		}
		repo, ref = from[:i], from[i+1:]
		if !registry.ValidTag(ref) {
			return "", "", "", bad("invalid tag")
		}
	}
	project, _, ok := strings.Cut(repo, "/")
	if !ok || !core.ValidRepository(repo) {
		return "", "", "", bad("invalid repository name")
	}
	return project, repo, ref, nil
}

// copyArtifact copies an artifact, with everything it references, from
// another repository (?from=) into this one. The caller needs pull on the
// source and push on the target; the target's quota and push gates apply.
func (a *API) copyArtifact(c *call) error {
	srcProject, src, ref, err := parseFrom(c.r.URL.Query().Get("from"))
	if err != nil {
		return err
	}
	p, dst, err := c.repository(permOn(rbac.ResourceRepository, rbac.ActionPush))
	if err != nil {
		return err
	}
	if err := c.require(p.Name, dst, permOn(rbac.ResourceArtifact, rbac.ActionCreate)); err != nil {
		return err
	}
	if _, err := a.deps.Projects.Get(c.ctx(), srcProject); err != nil {
		return err
	}
	if err := c.require(srcProject, src, permOn(rbac.ResourceRepository, rbac.ActionPull)); err != nil {
		return err
	}
	d, err := a.deps.Registry.CopyArtifact(c.ctx(), src, ref, dst)
	if err != nil {
		return err
	}
	return c.created(artifactLocation(p, dst, d.String()), nil)
}
