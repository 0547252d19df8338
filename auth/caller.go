package auth

import (
	"context"
	"slices"
	"strings"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// callerKey carries what Authorize learnt about the caller of a /v2/
// request: the principal (Basic credentials) or the access its token
// grants (Bearer).
type callerKey struct{}

type caller struct {
	principal *rbac.Principal
	subject   string // a token's subject
	granted   []registry.Access
}

func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerMay tells whether the caller of the /v2/ request ctx belongs to
// (as Authorize recorded it) holds perm on repository of project — for
// hooks that run inside the request, such as a pull gate exempting those
// who may push. A caller with Basic credentials is decided with its roles
// and groups. A caller with a token holds what the token grants, and else
// what its subject's own roles give (a token names no groups, so a right
// held only through a group counts only where the token carries it).
// Anonymous callers, and contexts Authorize never saw, hold nothing.
func (g *Gatekeeper) CallerMay(ctx context.Context, project, repository string, perm rbac.Permission) bool {
	c, ok := ctx.Value(callerKey{}).(caller)
	if !ok {
		return false
	}
	if c.principal != nil {
		d, err := g.Decide(ctx, *c.principal, project, repository, perm)
		return err == nil && d.Allowed
	}
	if action, ok := tokenAction(perm); ok {
		for _, a := range c.granted {
			if a.Type == registry.ResourceRepository && a.Name == repository &&
				(slices.Contains(a.Actions, action) || slices.Contains(a.Actions, registry.ActionAll)) {
				return true
			}
		}
	}
	p := rbac.Principal{Kind: rbac.User, Name: c.subject}
	if strings.HasPrefix(c.subject, RobotPrefix) {
		p.Kind = rbac.Robot
	} else {
		u, err := g.users.Get(ctx, c.subject)
		if err != nil {
			return false
		}
		p.SystemAdmin = u.SystemAdmin
	}
	d, err := g.Decide(ctx, p, project, repository, perm)
	return err == nil && d.Allowed
}

// tokenAction is the token scope action that carries perm.
func tokenAction(perm rbac.Permission) (string, bool) {
	if perm.Resource != rbac.ResourceRepository {
		return "", false
	}
	switch perm.Action {
	case rbac.ActionPull:
		return registry.ActionPull, true
	case rbac.ActionPush:
		return registry.ActionPush, true
	case rbac.ActionDelete:
		return registry.ActionDelete, true
	}
	return "", false
}
