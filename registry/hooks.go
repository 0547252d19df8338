package registry

import (
	"context"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// The shared vocabulary lives in package core; these names are the
// registry's view of it.

// Actions a request may need on a resource (core's).
const (
	ActionPull   = core.ActionPull
	ActionPush   = core.ActionPush
	ActionDelete = core.ActionDelete
	ActionAll    = core.ActionAll
)

// Resource types of the token specification (core's).
const (
	ResourceRepository = core.ResourceRepository
	ResourceRegistry   = core.ResourceRegistry
)

// Access is one resource a request needs and the actions on it.
type Access = core.Access

// WithActor records who is calling: core.WithActor.
func WithActor(ctx context.Context, actor string) context.Context { return core.WithActor(ctx, actor) }

// ActorFrom returns the name WithActor recorded: core.ActorFrom.
func ActorFrom(ctx context.Context) string { return core.ActorFrom(ctx) }

// SystemActor names the server acting on its own: core.SystemActor.
func SystemActor(purpose string) string { return core.SystemActor(purpose) }

// IsSystemActor reports whether actor is one SystemActor made.
func IsSystemActor(actor string) bool { return core.IsSystemActor(actor) }

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

// DeleteGate is asked before a tag or a manifest is deleted, over HTTP or
// through DeleteArtifact, DeleteTag and DeleteRepository: repository and
// digest name what goes, tags the tags that go with it (the one tag, for a
// tag's deletion). A non-nil error refuses it and nothing is deleted; use
// Denied(reason) for 412 with a readable reason.
type DeleteGate interface {
	CheckDelete(ctx context.Context, repository string, d digest.Digest, tags []string) error
}

// PushGate is asked before a manifest is stored. Tags lists the tags the
// push would set. A non-nil error refuses it and nothing is stored.
type PushGate interface {
	CheckPush(ctx context.Context, t Target, tags []string) error
}

// Events are core's: what happened, to what, by whom.
type (
	EventAction   = core.EventAction
	EventTarget   = core.EventTarget
	Event         = core.Event
	EventSink     = core.EventSink
	EventSinkFunc = core.EventSinkFunc
)

// Event actions and targets.
const (
	EventPush      = core.EventPush
	EventPull      = core.EventPull
	EventMount     = core.EventMount
	EventDelete    = core.EventDelete
	TargetManifest = core.TargetManifest
	TargetBlob     = core.TargetBlob
	TargetTag      = core.TargetTag
)

type allowAll struct{}

func (allowAll) Authorize(r *http.Request, _ []Access) (context.Context, error) {
	return r.Context(), nil
}
func (allowAll) CheckPull(context.Context, Target) error           { return nil }
func (allowAll) CheckPush(context.Context, Target, []string) error { return nil }
func (allowAll) CheckDelete(context.Context, string, digest.Digest, []string) error {
	return nil
}
func (allowAll) Emit(context.Context, Event) {}
