package core

import (
	"context"
	"strings"
)

// actorKey carries the caller's name in a context.
type actorKey struct{}

// WithActor records who is calling; every event and audit entry of the
// request carries the name.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the name WithActor recorded, or "".
func ActorFrom(ctx context.Context) string {
	s, _ := ctx.Value(actorKey{}).(string)
	return s
}

// SystemActor names the server acting on its own, for purpose: "(system)",
// or "(system: trust gate)", "(system: replication policy 3, execution
// 7)". Parentheses cannot appear in user or robot names, so it is never
// mistaken for an account, and the audit log files it as the system.
func SystemActor(purpose string) string {
	if purpose == "" {
		return "(system)"
	}
	return "(system: " + purpose + ")"
}

// IsSystemActor reports whether actor is one SystemActor made.
func IsSystemActor(actor string) bool {
	return actor == "(system)" || strings.HasPrefix(actor, "(system: ") && strings.HasSuffix(actor, ")")
}
