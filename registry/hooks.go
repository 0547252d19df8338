package registry

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// Actions a request may need on a resource; the names of the distribution
// token specification.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
	ActionAll    = "*"
)

// Resource types of the token specification.
const (
	ResourceRepository = "repository"
	ResourceRegistry   = "registry"
)

// Access is one resource a request needs and the actions on it, in the shape
// of a token scope ("repository:library/nginx:pull,push").
type Access struct {
	Type    string // ResourceRepository or ResourceRegistry
	Name    string // repository name, or "catalog"
	Actions []string
}

// actorKey carries the caller's name in a request context.
type actorKey struct{}

// WithActor records who is calling; an Authorizer returns the context it
// makes, and every Event of the request carries the name.
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

// Authorizer decides whether a request may proceed. It is called before
// every /v2/ request with what the request needs (empty for the /v2/ ping,
// which only needs an authenticated caller when auth is on). It returns the
// context to continue with — the place to record who is calling — or an
// error: an *Error (401 with a WWW-Authenticate header, 403, 429 with
// Retry-After) is answered as is. With an error it may still return a
// context naming the caller (WithActor): a known caller refused access is
// then reported to the refusal sink (see WithRefusalSink, Event.Refused).
type Authorizer interface {
	Authorize(r *http.Request, need []Access) (context.Context, error)
}

// Target describes the manifest a gate is asked about.
type Target struct {
	Repository   string
	Reference    string // tag or digest as the client named it
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	Size         int64
	Subject      digest.Digest // empty when the manifest has no subject
	Manifest     []byte        // raw bytes; read-only
}

// PullGate is asked before a manifest's content is served (GET, also
// through the blob endpoint). A non-nil error refuses the pull; use
// Denied(reason) for 412 with a readable reason. HEAD is not gated: it
// reveals only the digest and size, and clients (oras, cosign) HEAD a
// subject to find its signatures and referrers, which must stay reachable.
type PullGate interface {
	CheckPull(ctx context.Context, t Target) error
}

// PullGateFunc adapts a function to PullGate.
type PullGateFunc func(ctx context.Context, t Target) error

// CheckPull calls f.
func (f PullGateFunc) CheckPull(ctx context.Context, t Target) error { return f(ctx, t) }

// PushGate is asked before a manifest is stored. Tags lists the tags the
// push would set. A non-nil error refuses it and nothing is stored.
type PushGate interface {
	CheckPush(ctx context.Context, t Target, tags []string) error
}

// EventAction is what happened.
type EventAction string

// Event actions.
const (
	EventPush   EventAction = "push"
	EventPull   EventAction = "pull"
	EventMount  EventAction = "mount"
	EventDelete EventAction = "delete"
)

// EventTarget is what an event is about.
type EventTarget string

// Event targets.
const (
	TargetManifest EventTarget = "manifest"
	TargetBlob     EventTarget = "blob"
	TargetTag      EventTarget = "tag"
)

// Event is emitted after a change or a read has completed successfully.
type Event struct {
	Action       EventAction
	Target       EventTarget
	Repository   string
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	Size         int64
	Tag          string        // for tag events and manifest pushes by tag
	Subject      digest.Digest // manifest pushes with a subject
	From         string        // mount source repository, if any
	Actor        string        // who, as the Authorizer recorded it with WithActor
	Time         time.Time
	RemoteAddr   string
	UserAgent    string
	// Refused, when not empty, says why the request was refused: access
	// denied to a known caller (403, or 401 for a token lacking scope) or
	// a gate's 412. Action is what was asked (pull, push or delete);
	// nothing happened. Anonymous callers' refusals (the challenge every
	// client meets before it logs in) are not reported.
	Refused string
	// Status is the HTTP status of a refusal.
	Status int
}

// EventSink receives events. Emit runs on the request path after the
// response is decided, so it should be quick or hand off.
type EventSink interface {
	Emit(ctx context.Context, e Event)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(ctx context.Context, e Event)

// Emit calls f.
func (f EventSinkFunc) Emit(ctx context.Context, e Event) { f(ctx, e) }

type allowAll struct{}

func (allowAll) Authorize(r *http.Request, _ []Access) (context.Context, error) {
	return r.Context(), nil
}
func (allowAll) CheckPull(context.Context, Target) error           { return nil }
func (allowAll) CheckPush(context.Context, Target, []string) error { return nil }
func (allowAll) Emit(context.Context, Event)                       {}
