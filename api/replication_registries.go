package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/replicate"
)

// The registries replication talks to: /registries.

func registryJSON(e *replicate.Endpoint) Registry {
	r := Registry{ID: e.ID, Name: e.Name, Description: e.Description, Type: e.Type, URL: e.URL,
		Insecure: e.Insecure, CACert: e.CACert, CreationTime: e.CreatedAt, UpdateTime: e.UpdatedAt}
	if r.Type == "" {
		r.Type = replicate.TypeDistribution
	}
	if e.Username != "" {
		r.Credential = &RegistryCredential{Type: "basic", AccessKey: e.Username}
	}
	return r
}

func endpointOf(r Registry) (replicate.Endpoint, error) {
	e := replicate.Endpoint{ID: r.ID, Name: r.Name, Description: r.Description, URL: r.URL, Insecure: r.Insecure,
		CACert: r.CACert, Type: r.Type}
	if types := replicate.EndpointTypes(); r.Type != "" && !slices.Contains(types, r.Type) {
		return e, badRequest(fmt.Sprintf("registry type %q: berth speaks the OCI distribution API (%s)", r.Type, strings.Join(types, ", ")))
	}
	if cr := r.Credential; cr != nil {
		if cr.Type != "" && cr.Type != "basic" {
			return e, badRequest(fmt.Sprintf("credential type %q: want basic", cr.Type))
		}
		e.Username, e.Password = cr.AccessKey, cr.AccessSecret
	}
	return e, nil
}

func (a *API) listRegistries(c *call) error {
	if c.r.URL.Query().Get("health") != "true" {
		return replList(c, a.cfg.repl.r.Endpoints, endpointSort(), registryJSON)
	}
	if err := c.configAdmin(rbac.ActionList); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	name, err := nameFilter(c)
	if err != nil {
		return err
	}
	es, total, err := listPage(c, pg, "", endpointSort(), func(p core.Page) ([]replicate.Endpoint, int, error) {
		return a.cfg.repl.r.Endpoints(c.ctx(), name, p)
	})
	if err != nil {
		return err
	}
	// The registries of the page are checked all at once: a page of
	// registries that do not answer takes one check's timeout, not one
	// per registry.
	out := convertAll(es, registryJSON)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i].Status = a.health(c.ctx(), out[i].ID) })
	}
	wg.Wait()
	return c.paged(pg, total, out)
}

func (a *API) health(ctx context.Context, id int64) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if a.cfg.repl.r.PingEndpoint(ctx, replicate.Endpoint{ID: id}) != nil {
		return "unhealthy"
	}
	return "healthy"
}

func (a *API) createRegistry(c *call) error {
	return replCreate(c, "/registries", endpointOf, a.cfg.repl.r.CreateEndpoint)
}

func (a *API) pingRegistry(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	req, err := decodeAs[RegistryPing](c)
	if err != nil {
		return err
	}
	e, err := endpointOf(Registry{ID: req.ID, Name: "ping", URL: req.URL, Insecure: req.Insecure, Credential: req.Credential})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx(), 30*time.Second)
	defer cancel()
	err = a.cfg.repl.r.PingEndpoint(ctx, e)
	var pe *replicate.PingError
	switch {
	case err == nil:
		return c.ok()
	case errors.Is(err, replicate.ErrNotFound), errors.Is(err, replicate.ErrInvalid):
		return err
	case errors.As(err, &pe):
		// The answer says what happened, never what the remote sent: the
		// cause goes to the log.
		a.cfg.log.InfoContext(c.ctx(), "api: registry ping failed", "url", pe.URL, "err", pe.Err)
		return badRequest("the registry failed the check: " + pe.Error())
	}
	return err
}

func (a *API) getRegistry(c *call) error { return replGet(c, a.cfg.repl.r.Endpoint, registryJSON) }

func (a *API) updateRegistry(c *call) error {
	id, cur, err := replFetch(c, rbac.ActionUpdate, a.cfg.repl.r.Endpoint)
	if err != nil {
		return err
	}
	req := registryJSON(cur)
	req.Credential = nil
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	e, err := endpointOf(req)
	if err != nil {
		return err
	}
	switch cr := req.Credential; {
	case cr == nil:
		e.Username = cur.Username
	case cr.AccessKey == "" && cr.AccessSecret == "":
		e.ClearPassword = true // anonymous from now on
	}
	e.ID = id
	err = a.cfg.repl.r.UpdateEndpoint(c.ctx(), e)
	if errors.Is(err, replicate.ErrCredentialRequired) {
		return badRequest(fmt.Sprintf("registry %q moves from %s to %s, another scheme, host or port: send its credential again "+
			"(credential.access_secret), or a credential with empty access_key and access_secret to clear it; "+
			"the stored secret is never sent to a new address", cur.Name, cur.URL, e.URL))
	}
	return a.okOr(c, err)
}

func (a *API) deleteRegistry(c *call) error {
	return replDo(c, rbac.ActionDelete, a.cfg.repl.r.DeleteEndpoint)
}

// listAdapters answers Harbor's list of registry types: those berth's
// registries may have.
func (a *API) listAdapters(c *call) error {
	if err := c.configAdmin(rbac.ActionList); err != nil {
		return err
	}
	return c.json(http.StatusOK, replicate.EndpointTypes())
}
