package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/replicate"
)

// The registries replication talks to: /registries.

func registryJSON(e *replicate.Endpoint) Registry {
	r := Registry{ID: e.ID, Name: e.Name, Description: e.Description, Type: "docker-registry", URL: e.URL,
		Insecure: e.Insecure, CACert: e.CACert, CreationTime: e.CreatedAt, UpdateTime: e.UpdatedAt}
	if e.Username != "" {
		r.Credential = &RegistryCredential{Type: "basic", AccessKey: e.Username}
	}
	return r
}

func endpointOf(r Registry) (replicate.Endpoint, error) {
	e := replicate.Endpoint{ID: r.ID, Name: r.Name, Description: r.Description, URL: r.URL, Insecure: r.Insecure, CACert: r.CACert}
	if r.Type != "" && r.Type != "docker-registry" && r.Type != "harbor" {
		return e, badRequest(fmt.Sprintf("registry type %q: berth speaks the OCI distribution API (docker-registry, harbor)", r.Type))
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
	health := c.r.URL.Query().Get("health") == "true"
	return replList(c, a.cfg.repl.r.Endpoints, func(e *replicate.Endpoint) Registry {
		r := registryJSON(e)
		if health {
			r.Status = a.health(c.ctx(), e.ID)
		}
		return r
	})
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
	if err := a.cfg.repl.r.PingEndpoint(ctx, e); err != nil {
		if errors.Is(err, replicate.ErrNotFound) || errors.Is(err, replicate.ErrInvalid) {
			return replError(err)
		}
		return badRequest("the registry is unreachable or refused the credentials: " + err.Error())
	}
	return c.ok()
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
	if req.Credential == nil {
		e.Username = cur.Username
	}
	e.ID = id
	return a.okOr(c, replError(a.cfg.repl.r.UpdateEndpoint(c.ctx(), e)))
}

func (a *API) deleteRegistry(c *call) error {
	return replDo(c, rbac.ActionDelete, a.cfg.repl.r.DeleteEndpoint)
}
