package server

import (
	"context"
	"log/slog"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/project"
)

// authEntry turns a user or robot change into an audit entry.
func authEntry(c auth.Change) audit.Entry {
	e := audit.Entry{Action: string(c.Kind), Resource: c.Name, Detail: c.Detail, Result: audit.ResultSuccess}
	switch {
	case c.Kind.IsRobot():
		e.ResourceType = audit.ResourceRobot
		if proj, _, err := auth.ParseRobotName(c.Name); err == nil {
			e.Project = proj
		}
	default:
		e.ResourceType = audit.ResourceUser
	}
	return e
}

// projectEntry turns a project or member change into an audit entry; a
// member update is a role change.
func projectEntry(c project.Change) audit.Entry {
	e := audit.Entry{Action: string(c.Kind), Project: c.Project, ProjectID: c.ProjectID, Resource: c.Project,
		ResourceType: audit.ResourceProject, Result: audit.ResultSuccess}
	if c.Kind.IsMember() {
		e.ResourceType = audit.ResourceMember
		e.Resource = c.Project + "/" + c.Subject
		e.Detail = "role " + c.Role
		if c.Repositories != "" {
			e.Detail += " on " + c.Repositories
		}
		if c.Kind == project.MemberUpdated {
			e.Action = audit.ActionRoleChange
		}
	}
	return e
}

// observeLogin audits failed logins (successful ones are implied by the
// pushes and pulls that follow, which are audited with their actor).
func (id *identity) observeLogin(log *slog.Logger) func(ctx context.Context, a auth.LoginAttempt) {
	return func(ctx context.Context, a auth.LoginAttempt) {
		if a.OK {
			return
		}
		log.WarnContext(ctx, "login failed", "user", a.Username, "remote", a.RemoteAddr, "reason", a.Reason)
		// The name is only a claim: nobody proved to be that user, so it is
		// not the actor.
		err := id.recorder.Record(context.WithoutCancel(ctx), audit.Entry{Action: audit.ActionLoginFailure,
			AttemptedUser: a.Username, ResourceType: audit.ResourceSession, Resource: a.Username,
			Result: audit.ResultFailure, Detail: a.Reason, RemoteAddr: a.RemoteAddr})
		if err != nil {
			log.Error("audit", "err", err)
		}
	}
}
