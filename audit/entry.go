package audit

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berthlabs/berth/core"
)

// Entry is one audited operation: who did what to which resource, when,
// with what result.
type Entry struct {
	ID           int64     // assigned by the store; ignored on Record
	Time         time.Time // when it happened; zero means "now" on Record
	Actor        string    // user or robot name; "" is recorded as "anonymous"
	ActorKind    string    // KindUser, KindRobot, KindAnonymous, KindSystem; "" is derived with KindOf
	Action       string    // ActionPush, ActionLoginFailure, … or any other verb; required
	ResourceType string    // ResourceArtifact, ResourceTag, …
	Resource     string    // e.g. "library/nginx:1.25@sha256:…", "library", "alice"
	Project      string    // project the resource belongs to, if any
	// ProjectID is the project's immutable id, which a project's log is
	// queried by (its name may be taken again after deletion). Zero on
	// Record: the Store resolves Project (see WithProjects).
	ProjectID int64
	// AttemptedUser is the name a failed login claimed. It is a claim,
	// not an identity: the Actor of such an entry is anonymous.
	AttemptedUser string
	Result        string // ResultSuccess or ResultFailure; "" is recorded as success
	Detail        string // short human text, e.g. why it failed
	RemoteAddr    string
	UserAgent     string
	// Count is how many identical operations the entry stands for: the
	// Recorder folds repeated pulls of one resource by one caller that land
	// in the same batch (a fraction of a second) into one entry whose Time
	// is the first of them. Zero means one, and Query reports a single
	// operation as zero.
	Count int
}

// Kinds of actor.
const (
	KindUser      = "user"
	KindRobot     = "robot"
	KindAnonymous = "anonymous"
	KindSystem    = "system"
)

// Known actions. Any other non-empty string may be recorded too.
const (
	ActionPush           = "push"
	ActionPull           = "pull"
	ActionDelete         = "delete"
	ActionLogin          = "login"
	ActionLoginFailure   = "login-failure"
	ActionLogout         = "logout"
	ActionRoleChange     = "role-change"
	ActionMemberAdd      = "member-add"
	ActionMemberRemove   = "member-remove"
	ActionRobotCreate    = "robot-create"
	ActionRobotDelete    = "robot-delete"
	ActionRobotUpdate    = "robot-update"
	ActionProjectCreate  = "project-create"
	ActionProjectDelete  = "project-delete"
	ActionProjectUpdate  = "project-update"
	ActionUserCreate     = "user-create"
	ActionUserDelete     = "user-delete"
	ActionPasswordChange = "password-change"
)

// Resource types.
const (
	ResourceRepository = "repository"
	ResourceArtifact   = "artifact"
	ResourceTag        = "tag"
	ResourceBlob       = "blob"
	ResourceProject    = "project"
	ResourceMember     = "member"
	ResourceRobot      = "robot"
	ResourceUser       = "user"
	ResourceSession    = "session"
)

// Results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// anonymous is the actor name recorded for a caller with no identity.
const anonymous = "anonymous"

// RobotPrefix starts the name of every robot account (Harbor's convention),
// which is how KindOf tells robots from users.
const RobotPrefix = "robot$"

// KindOf derives an actor's kind from its name: "" is anonymous, a name
// starting with RobotPrefix is a robot, anything else a user.
func KindOf(actor string) string {
	switch {
	case actor == "" || actor == anonymous:
		return KindAnonymous
	case strings.HasPrefix(actor, RobotPrefix):
		return KindRobot
	case core.IsSystemActor(actor):
		return KindSystem
	default:
		return KindUser
	}
}

// maxField bounds every text field, so a hostile user agent or resource
// name cannot bloat the log.
const maxField = 1024

// normalize fills defaults and bounds the fields of an entry to record.
func (e Entry) normalize(now func() time.Time) (Entry, error) {
	if e.Action == "" {
		return e, errors.New("audit: an entry needs an action")
	}
	e.ID = 0
	if e.Time.IsZero() {
		e.Time = now()
	}
	e.Time = e.Time.UTC()
	if e.Time.Before(minTime()) || e.Time.After(maxTime()) {
		return e, fmt.Errorf("audit: entry time %s out of range", e.Time.Format(time.RFC3339))
	}
	if e.ActorKind == "" {
		e.ActorKind = KindOf(e.Actor)
	}
	if e.Actor == "" {
		e.Actor = anonymous
	}
	if e.Result == "" {
		e.Result = ResultSuccess
	}
	for _, s := range []*string{&e.Actor, &e.ActorKind, &e.Action, &e.ResourceType, &e.Resource,
		&e.Project, &e.Result, &e.Detail, &e.RemoteAddr, &e.UserAgent, &e.AttemptedUser} {
		*s = truncate(*s, maxField)
	}
	return e, nil
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
