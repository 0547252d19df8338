package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/berthlabs/berth/core"
)

// RegistrySink records the registry's events through r:
//   - manifest push, pull, delete: an artifact entry "repo@digest", or
//     "repo:tag@digest" when the client named a tag;
//   - tag delete: a tag entry "repo:tag" (Detail names the digest it
//     pointed to);
//   - blob delete: a blob entry "repo@digest";
//   - blob push, pull and mount: nothing (too frequent; artifacts are what
//     is audited, as in Harbor).
//
// The actor is the event's (anonymous when empty; its kind from KindOf),
// the project the repository's first path component. Events of completed
// work are successes; given to the registry as its refusal sink too
// (registry.WithRefusalSink), it records refused pulls, pushes and
// deletes (access denied, a gate's 412) as failures whose Detail is the
// reason, folded like pulls. Emit blocks while r's queue is
// full and is not cut short by the request's cancellation; an entry that
// cannot be recorded (r closed) is logged.
func RegistrySink(r *Recorder) core.EventSink {
	return core.EventSinkFunc(func(ctx context.Context, ev core.Event) {
		e, ok := entryOf(ev)
		if !ok {
			return
		}
		if err := r.Record(context.WithoutCancel(ctx), e); err != nil {
			r.log.ErrorContext(ctx, "audit: registry event not recorded", "action", e.Action,
				"resource", e.Resource, "actor", e.Actor, "err", err)
		}
	})
}

// entryOf maps a registry event to an entry, or false when it is not
// audited.
func entryOf(ev core.Event) (Entry, bool) {
	e := Entry{
		Time:       ev.Time,
		Actor:      ev.Actor,
		Action:     string(ev.Action),
		Project:    projectOf(ev.Repository),
		Result:     ResultSuccess,
		RemoteAddr: ev.RemoteAddr,
		UserAgent:  ev.UserAgent,
	}
	if ev.Refused != "" {
		e.Result = ResultFailure
		e.Detail = fmt.Sprintf("refused (%d): %s", ev.Status, ev.Refused)
		e.ResourceType, e.Resource = ResourceArtifact, ev.Repository
		if ev.Target == core.TargetBlob && ev.Digest != "" {
			e.ResourceType = ResourceBlob
		}
		if ev.Tag != "" {
			e.Resource += ":" + ev.Tag
		}
		if ev.Digest != "" {
			e.Resource += "@" + ev.Digest.String()
		}
		return e, true
	}
	switch {
	case ev.Target == core.TargetManifest && ev.Action != core.EventMount:
		e.ResourceType = ResourceArtifact
		e.Resource = ev.Repository
		if ev.Tag != "" {
			e.Resource += ":" + ev.Tag
		}
		if ev.Digest != "" {
			e.Resource += "@" + ev.Digest.String()
		}
	case ev.Target == core.TargetTag && ev.Action != core.EventMount:
		e.ResourceType = ResourceTag
		e.Resource = ev.Repository + ":" + ev.Tag
		if ev.Digest != "" {
			e.Detail = "tag pointed to " + ev.Digest.String()
		}
	case ev.Target == core.TargetBlob && ev.Action == core.EventDelete:
		e.ResourceType = ResourceBlob
		e.Resource = ev.Repository + "@" + ev.Digest.String()
	default:
		return Entry{}, false
	}
	return e, true
}

// projectOf returns the first path component of a repository name.
func projectOf(repo string) string {
	p, _, _ := strings.Cut(repo, "/")
	return p
}
