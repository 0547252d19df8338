package project

import (
	"context"
	"time"

	"github.com/berthlabs/berth/registry"
)

// ChangeKind names what changed.
type ChangeKind string

// Change kinds.
const (
	ProjectCreated ChangeKind = "project-create"
	ProjectUpdated ChangeKind = "project-update"
	// ProjectDeleted also means every member of the project is gone; no
	// MemberRemoved change is fired for them.
	ProjectDeleted ChangeKind = "project-delete"
	MemberAdded    ChangeKind = "member-add"
	MemberUpdated  ChangeKind = "member-update"
	MemberRemoved  ChangeKind = "member-remove"
)

// IsMember reports whether k is a change to a project's members.
func (k ChangeKind) IsMember() bool {
	return k == MemberAdded || k == MemberUpdated || k == MemberRemoved
}

// Change describes one committed change, for an audit log and for
// invalidating caches built from the Store (an RBAC policy).
type Change struct {
	Kind    ChangeKind
	Project string
	// ProjectID is the project's immutable id, which rows about the
	// project are keyed by (its name may be taken again after deletion).
	ProjectID int64
	// Subject, Repositories and Role describe the member of a member
	// change: the new role on add and update, the removed role on remove.
	Subject      string
	Repositories string
	Role         string
	// Actor is who made the change, as registry.WithActor recorded it in
	// the context, or "".
	Actor string
	Time  time.Time
}

func actorFrom(ctx context.Context) string { return registry.ActorFrom(ctx) }
