package api

import (
	"context"
	"fmt"
	"net/http"
	"reflect"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// call is one request on its way through a handler: who is calling and
// where to answer.
type call struct {
	a *API
	w http.ResponseWriter
	r *http.Request
	p rbac.Principal
}

func (c *call) ctx() context.Context { return c.r.Context() }

// wrap resolves the caller of every request, then runs the route's handler
// and answers its error, if any.
func (a *API) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.deps.Access.Principal(r)
		if err != nil {
			a.writeError(w, r, loginError(err))
			return
		}
		if p.Kind != rbac.Anonymous {
			r = r.WithContext(registry.WithActor(r.Context(), p.Name))
		}
		var sw *statusWriter
		if a.cfg.audit != nil && rt.auditsChanges() {
			sw = &statusWriter{ResponseWriter: w}
			w = sw
		}
		c := &call{a: a, w: w, r: r, p: p}
		if err := rt.handle(c); err != nil {
			a.writeError(w, r, err)
		}
		if sw != nil {
			a.auditChange(r, rt, sw)
		}
	})
}

// decide asks RBAC one question.
func (c *call) decide(project, repository string, perm rbac.Permission) (rbac.Decision, error) {
	d, err := c.a.deps.Access.Decide(c.ctx(), c.p, project, repository, perm)
	if err != nil {
		return d, fmt.Errorf("deciding %s for %q in %q: %w", perm, c.p.Name, project, err)
	}
	return d, nil
}

// require succeeds when the caller may perm in project (and repository,
// for repository-scoped resources); otherwise it is 401 for anonymous
// callers and 403 with RBAC's reason for the others.
func (c *call) require(project, repository string, perm rbac.Permission) error {
	d, err := c.decide(project, repository, perm)
	if err != nil {
		return err
	}
	if d.Allowed {
		return nil
	}
	return c.denied(d.Reason)
}

// requireAdmin succeeds for system administrators: perm is asked at system
// level, which only they hold (directly or through an admin group).
func (c *call) requireAdmin(perm rbac.Permission) error { return c.require("", "", perm) }

// isAdmin reports whether the caller is a system administrator.
func (c *call) isAdmin() (bool, error) {
	if c.p.Kind != rbac.User {
		return false, nil
	}
	// A system-level question: only administrators hold any.
	d, err := c.decide("", "", rbac.Permission{Resource: rbac.ResourceConfiguration, Action: rbac.ActionRead})
	return d.Allowed, err
}

func (c *call) denied(reason string) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required: " + reason)
	}
	return forbidden(reason)
}

// requireUser succeeds for signed-in users (not robots, not anonymous).
func (c *call) requireUser() error {
	switch c.p.Kind {
	case rbac.User:
		return nil
	case rbac.Robot:
		return forbidden("robot accounts cannot use this endpoint; sign in as a user")
	}
	return unauthorized("authentication required")
}

// subjects are the member subjects of a user: the user and its groups.
func (c *call) subjects() []string {
	if c.p.Kind != rbac.User {
		return nil
	}
	out := []string{"user:" + c.p.Name}
	for _, g := range c.p.Groups {
		out = append(out, "group:"+g)
	}
	return out
}

func (c *call) json(status int, v any) error {
	writeJSON(c.w, status, v)
	return nil
}

// ok answers 200 with no body, as Harbor does after updates and deletes.
func (c *call) ok() error {
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// created answers 201 with a Location and an optional body.
func (c *call) created(location string, v any) error {
	c.w.Header().Set("Location", location)
	if v == nil {
		c.w.WriteHeader(http.StatusCreated)
		return nil
	}
	return c.json(http.StatusCreated, v)
}

// paged answers one page of a listing with its headers.
func (c *call) paged(p page, total int, v any) error {
	// A page above Harbor's 100 (page_size=0 asks for all) may be more
	// than the store serves at once: its Link then names the rest in
	// pages of the size served, so nothing is silently skipped.
	if n := reflect.ValueOf(v); n.Kind() == reflect.Slice && p.size > harborPageSize && n.Len() > 0 &&
		n.Len() < min(p.size, total-p.offset()) {
		if p.offset()%n.Len() != 0 {
			return badRequest(fmt.Sprintf("page_size %d: this listing serves at most %d items at once; ask for pages of %d", p.size, n.Len(), n.Len()))
		}
		p = page{num: p.offset()/n.Len() + 1, size: n.Len()}
	}
	setPageHeaders(c.w, c.r, p, total)
	return c.json(http.StatusOK, v)
}

// configAdmin admits system administrators only: act is asked on the
// system configuration.
func (c *call) configAdmin(act rbac.Action) error {
	return c.requireAdmin(permOn(rbac.ResourceConfiguration, act))
}

// projectFor resolves the request's project and checks the caller may
// perm in it.
func (c *call) projectFor(perm rbac.Permission) (project.Project, error) {
	p, err := c.project()
	if err != nil {
		return p, err
	}
	return p, c.require(p.Name, "", perm)
}
