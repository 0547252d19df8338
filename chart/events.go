package chart

import "context"

// Event actions.
const (
	EventUpload = "upload"
	EventDelete = "delete"
)

// Event describes one change to a chart repository, for webhooks and the
// audit log.
type Event struct {
	Action  string // EventUpload or EventDelete
	Project string
	Name    string
	Version string
	Digest  string // the archive's digest
	// Forced is true for an upload that replaced an existing version.
	Forced bool
}

// EventSink receives events after each change has been committed. Emit
// must not block for long; it is called on the request's goroutine.
type EventSink interface {
	Emit(ctx context.Context, e Event)
}

func (r *Repo) notify(ctx context.Context, e Event) {
	if r.events != nil {
		r.events.Emit(ctx, e)
	}
}
