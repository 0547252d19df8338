package api

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
)

// Member entity kinds, as ProjectMemberEntity.entity_type spells them.
const (
	EntityUser  = "u"
	EntityGroup = "g"
)

// EntityIDs tells the number of a user (kind EntityUser) or group (kind
// EntityGroup) by its name, as members name them: a user name, or a group
// name or DN. An error wrapping core.ErrNotFound is a member whose user or
// group is not numbered: its entity_id is 0.
type EntityIDs func(ctx context.Context, kind, name string) (int64, error)

// WithEntityIDs fills the entity_id of project members (Harbor's user_id
// or user group id). Without it entity_id is 0.
func WithEntityIDs(f EntityIDs) Option { return func(c *config) { c.entityIDs = f } }

// entityID is the entity_id of the member m.
func (a *API) entityID(ctx context.Context, m project.Member) (int64, error) {
	if a.cfg.entityIDs == nil {
		return 0, nil
	}
	kind, name, _ := strings.Cut(m.Subject, ":")
	id, err := a.cfg.entityIDs(ctx, kind[:1], name)
	switch {
	case errors.Is(err, core.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("the id of member %s: %w", m.Subject, err)
	}
	return id, nil
}

// membersJSON renders members of p with their entity ids.
func (a *API) membersJSON(ctx context.Context, p project.Project, ms []project.Member) ([]ProjectMemberEntity, error) {
	out := make([]ProjectMemberEntity, 0, len(ms))
	for _, m := range ms {
		id, err := a.entityID(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, memberJSON(p, m, id))
	}
	return out, nil
}
