package token

import (
	"fmt"
	"slices"
	"strings"

	"github.com/berthlabs/berth/core"
)

// Bounds on what a request or a token may carry.
const (
	// MaxScopes bounds the resource scopes of one token request (and the
	// access entries of one token).
	MaxScopes = 50
	// maxScopeLength bounds one scope parameter.
	maxScopeLength = 4096
)

// catalogName is the only resource of type "registry".
const catalogName = "catalog"

// ParseScope parses one scope parameter of a token request: one or more
// space-separated resource scopes "type:name:action[,action...]", such as
// "repository:library/nginx:pull,push" or "registry:catalog:*". A resource
// class ("repository(plugin):name:pull") is accepted and dropped. Names must
// be valid repository names; actions are pull, push, delete and *. Duplicate
// actions are removed; scopes are returned in order, not merged. An empty
// parameter yields no scopes. Errors wrap ErrInvalidScope.
func ParseScope(s string) ([]core.Access, error) {
	if len(s) > maxScopeLength {
		return nil, fmt.Errorf("%w: scope parameter longer than %d bytes", ErrInvalidScope, maxScopeLength)
	}
	var out []core.Access
	for _, f := range strings.Fields(s) {
		a, err := parseOne(f)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parseOne(f string) (core.Access, error) {
	bad := func(why string) (core.Access, error) {
		if len(f) > 80 {
			f = f[:80] + "..."
		}
		return core.Access{}, fmt.Errorf("%w: %q: %s", ErrInvalidScope, f, why)
	}
	typ, rest, ok := strings.Cut(f, ":")
	i := strings.LastIndexByte(rest, ':')
	if !ok || i < 0 {
		return bad("want type:name:actions")
	}
	typ, ok = stripClass(typ)
	if !ok {
		return bad("invalid resource class")
	}
	a := core.Access{Type: typ, Name: rest[:i]}
	for act := range strings.SplitSeq(rest[i+1:], ",") {
		if !slices.Contains(a.Actions, act) {
			a.Actions = append(a.Actions, act)
		}
	}
	if err := checkAccess(a); err != "" {
		return bad(err)
	}
	return a, nil
}

// stripClass removes a "(class)" suffix from a resource type.
func stripClass(typ string) (string, bool) {
	i := strings.IndexByte(typ, '(')
	if i < 0 {
		return typ, true
	}
	class, ok := strings.CutSuffix(typ[i+1:], ")")
	if !ok || class == "" || strings.TrimFunc(class, isLowerAlnum) != "" {
		return "", false
	}
	return typ[:i], true
}

func isLowerAlnum(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }

// checkAccess reports what is wrong with a, or "".
func checkAccess(a core.Access) string {
	if len(a.Actions) == 0 {
		return "no actions"
	}
	switch a.Type {
	case core.ResourceRepository:
		if !core.ValidRepository(a.Name) {
			return "invalid repository name"
		}
		for _, act := range a.Actions {
			switch act {
			case core.ActionPull, core.ActionPush, core.ActionDelete, core.ActionAll:
			default:
				return "unknown action"
			}
		}
	case core.ResourceRegistry:
		if a.Name != catalogName {
			return "unknown registry resource"
		}
		for _, act := range a.Actions {
			if act != core.ActionAll {
				return "registry:catalog takes only the * action"
			}
		}
	default:
		return "unknown resource type"
	}
	return ""
}

// FormatScope formats access as a scope parameter: resource scopes separated
// by spaces, the form ParseScope reads and a challenge carries. Entries
// without actions are left out.
func FormatScope(access []core.Access) string {
	var b strings.Builder
	for _, a := range access {
		if len(a.Actions) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Type + ":" + a.Name + ":" + strings.Join(a.Actions, ","))
	}
	return b.String()
}

// merge combines entries for the same resource, removes duplicate actions
// and entries without actions. It never aliases the input's slices.
func merge(in []core.Access) []core.Access {
	var out []core.Access
	for _, a := range in {
		i := slices.IndexFunc(out, func(o core.Access) bool { return o.Type == a.Type && o.Name == a.Name })
		if i < 0 {
			out = append(out, core.Access{Type: a.Type, Name: a.Name})
			i = len(out) - 1
		}
		for _, act := range a.Actions {
			if !slices.Contains(out[i].Actions, act) {
				out[i].Actions = append(out[i].Actions, act)
			}
		}
	}
	return slices.DeleteFunc(out, func(a core.Access) bool { return len(a.Actions) == 0 })
}

// covers reports whether the action set grants act; "*" grants everything.
func covers(set []string, act string) bool {
	return slices.Contains(set, act) || slices.Contains(set, core.ActionAll)
}

// actionsFor collects the actions set grants on one resource.
func actionsFor(set []core.Access, typ, name string) []string {
	var acts []string
	for _, a := range set {
		if a.Type == typ && a.Name == name {
			acts = append(acts, a.Actions...)
		}
	}
	return acts
}

// intersect returns what granted gives of what requested asks for, so that a
// token never carries more than was requested, whatever granted holds.
func intersect(requested, granted []core.Access) []core.Access {
	var out []core.Access
	for _, r := range merge(requested) {
		g := actionsFor(granted, r.Type, r.Name)
		a := core.Access{Type: r.Type, Name: r.Name}
		for _, act := range r.Actions {
			if covers(g, act) {
				a.Actions = append(a.Actions, act)
			}
		}
		for _, act := range g { // "*" requested, narrower actions granted
			one := core.Access{Type: r.Type, Name: r.Name, Actions: []string{act}}
			if covers(r.Actions, act) && !slices.Contains(a.Actions, act) && checkAccess(one) == "" {
				a.Actions = append(a.Actions, act)
			}
		}
		out = append(out, a)
	}
	return merge(out)
}
