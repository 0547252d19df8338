package core

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

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

// Event is emitted after a change or a read of the registry has completed
// successfully, or, with Refused set, after a request was refused.
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
	Actor        string        // who, as WithActor recorded it
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
// response is decided, so it should be quick or hand off. Every berth
// component that reports changes does it through a sink's Emit.
type EventSink interface {
	Emit(ctx context.Context, e Event)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(ctx context.Context, e Event)

// Emit calls f.
func (f EventSinkFunc) Emit(ctx context.Context, e Event) { f(ctx, e) }
