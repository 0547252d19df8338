package api

import (
	"net/http"
	"time"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/scan"
)

// CVE allowlists: the system's and each project's.

func allowlistJSON(projectID int64, al scan.Allowlist) CVEAllowlist {
	out := CVEAllowlist{ProjectID: projectID, Items: []CVEAllowlistItem{}, UpdateTime: al.UpdatedAt}
	if !al.ExpiresAt.IsZero() {
		exp := al.ExpiresAt.Unix()
		out.ExpiresAt = &exp
	}
	for _, id := range al.Items {
		out.Items = append(out.Items, CVEAllowlistItem{CVEID: id})
	}
	return out
}

func allowlistOf(req CVEAllowlist) scan.Allowlist {
	al := scan.Allowlist{Items: []string{}}
	if req.ExpiresAt != nil && *req.ExpiresAt > 0 {
		al.ExpiresAt = time.Unix(*req.ExpiresAt, 0).UTC()
	}
	for _, it := range req.Items {
		al.Items = append(al.Items, it.CVEID)
	}
	return al
}

// answerAllowlist answers 200 with the allowlist of proj ("" for the
// system's), shown with projectID.
func (a *API) answerAllowlist(c *call, proj string, projectID int64) error {
	al, err := a.cfg.scan.svc.Allowlist(c.ctx(), proj)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, allowlistJSON(projectID, al))
}

// putAllowlist replaces the allowlist of proj ("" for the system's) with
// the request's.
func (a *API) putAllowlist(c *call, proj string) error {
	req, err := decodeAs[CVEAllowlist](c)
	if err != nil {
		return err
	}
	_, err = a.cfg.scan.svc.SetAllowlist(c.ctx(), proj, allowlistOf(req))
	return a.okOr(c, err)
}

func (a *API) getSystemAllowlist(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	return a.answerAllowlist(c, "", 0)
}

func (a *API) setSystemAllowlist(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	return a.putAllowlist(c, "")
}

func (a *API) getProjectAllowlist(c *call) error {
	p, err := c.readableProject()
	if err != nil {
		return err
	}
	return a.answerAllowlist(c, p.Name, p.ID)
}

func (a *API) setProjectAllowlist(c *call) error {
	p, err := c.projectFor(permOn(rbac.ResourceMetadata, rbac.ActionUpdate))
	if err != nil {
		return err
	}
	return a.putAllowlist(c, p.Name)
}
