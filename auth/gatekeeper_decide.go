package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// accessError is a denial with RBAC's reason.
type accessError struct{ reason string }

func (e *accessError) Error() string { return e.reason }

// noProjectError refuses a push into a project that does not exist.
type noProjectError struct{ project string }

func (e *noProjectError) Error() string {
	return fmt.Sprintf("project %q does not exist; create it before pushing", e.project)
}

// check succeeds when p may do everything need asks for.
func (g *Gatekeeper) check(ctx context.Context, p rbac.Principal, need []registry.Access) error {
	for _, a := range need {
		got, err := g.allowed(ctx, p, a)
		if err != nil {
			return err
		}
		for _, want := range a.Actions {
			if !slices.Contains(got, want) && !slices.Contains(got, registry.ActionAll) {
				return g.denial(ctx, p, a, want)
			}
		}
	}
	return nil
}

// allowed returns the actions of a that p may perform.
func (g *Gatekeeper) allowed(ctx context.Context, p rbac.Principal, a registry.Access) ([]string, error) {
	switch a.Type {
	case registry.ResourceRegistry:
		if a.Name == "catalog" && p.Kind == rbac.User && p.SystemAdmin {
			return a.Actions, nil
		}
		return nil, nil
	case registry.ResourceRepository:
	default:
		return nil, nil
	}
	e, err := g.policy.Engine(ctx)
	if err != nil {
		return nil, err
	}
	granted, _ := e.RepositoryActions(p, a.Name, a.Actions)
	if slices.Contains(granted, registry.ActionPush) || slices.Contains(granted, registry.ActionAll) {
		project, _, _ := strings.Cut(a.Name, "/")
		exists, _, err := g.projects.Public(ctx, project)
		if err != nil {
			return nil, err
		}
		if !exists {
			granted = slices.DeleteFunc(granted, func(s string) bool { return s == registry.ActionPush || s == registry.ActionAll })
		}
	}
	return granted, nil
}

// denial explains why p may not do want on a.
func (g *Gatekeeper) denial(ctx context.Context, p rbac.Principal, a registry.Access, want string) error {
	if a.Type != registry.ResourceRepository {
		return &accessError{reason: fmt.Sprintf("denied: only system administrators may use %s:%s", a.Type, a.Name)}
	}
	project, _, _ := strings.Cut(a.Name, "/")
	if exists, _, err := g.projects.Public(ctx, project); err != nil {
		return err
	} else if !exists {
		return &noProjectError{project: project}
	}
	e, err := g.policy.Engine(ctx)
	if err != nil {
		return err
	}
	_, reasons := e.RepositoryActions(p, a.Name, []string{want})
	return &accessError{reason: reasons[0]}
}

// toRegistryError shapes a denial for the registry: 403 with RBAC's reason,
// 404 NAME_UNKNOWN for a missing project, 503 when a directory is down.
func toRegistryError(err error) error {
	var ae *accessError
	var np *noProjectError
	switch {
	case errors.As(err, &ae):
		return &registry.Error{Status: http.StatusForbidden, Code: registry.CodeDenied, Message: ae.reason}
	case errors.As(err, &np):
		return &registry.Error{Status: http.StatusNotFound, Code: registry.CodeNameUnknown, Message: np.Error()}
	case errors.Is(err, ErrUnavailable):
		return &registry.Error{Status: http.StatusServiceUnavailable, Code: "UNAVAILABLE",
			Message: "the identity provider is unavailable; try again later"}
	}
	return err
}

// loginError answers failed credentials with 401 and a challenge.
func (g *Gatekeeper) loginError(need []registry.Access, err error) error {
	if errors.Is(err, ErrUnavailable) {
		return toRegistryError(err)
	}
	var te *ThrottledError
	if errors.As(err, &te) {
		return &registry.Error{Status: http.StatusTooManyRequests, Code: registry.CodeTooManyRequests, Message: te.Error(),
			Header: http.Header{"Retry-After": {strconv.Itoa(te.Seconds())}}}
	}
	if errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrExpired) || errors.Is(err, ErrDisabled) {
		e := g.tokens.Unauthorized(g.realm, need, nil)
		e.Message = "invalid username or password"
		if errors.Is(err, ErrExpired) {
			e.Message = "robot account expired"
		} else if errors.Is(err, ErrDisabled) {
			e.Message = "account disabled"
		}
		return e
	}
	return err
}

// Identity attributes carried from login to grant inside the token service.
const (
	attrKind   = "kind"
	attrAdmin  = "admin"
	attrGroups = "groups"
)

func principalIdentity(p rbac.Principal) token.Identity {
	kind := "user"
	if p.Kind == rbac.Robot {
		kind = "robot"
	}
	attrs := map[string]string{attrKind: kind}
	if p.SystemAdmin {
		attrs[attrAdmin] = "true"
	}
	if len(p.Groups) > 0 {
		attrs[attrGroups] = strings.Join(p.Groups, "\n")
	}
	return token.Identity{Subject: p.Name, Attributes: attrs}
}

func identityPrincipal(id *token.Identity) rbac.Principal {
	if id == nil || id.Subject == "" {
		return rbac.Principal{}
	}
	p := rbac.Principal{Kind: rbac.User, Name: id.Subject, SystemAdmin: id.Attributes[attrAdmin] == "true"}
	if id.Attributes[attrKind] == "robot" {
		p = rbac.Principal{Kind: rbac.Robot, Name: id.Subject}
	}
	if g := id.Attributes[attrGroups]; g != "" && p.Kind == rbac.User {
		p.Groups = strings.Split(g, "\n")
	}
	return p
}
