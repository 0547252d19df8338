package api

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/rbac"
)

// maxRobotDays bounds robot durations (auth.RobotExpiry's limit).
const maxRobotDays = 100 * 365

// RobotCreate creates a robot.
type RobotCreate struct {
	Name        string            `json:"name" doc:"Short name; the full name is robot$<name> (system) or robot$<project>+<name> (project)"`
	Description string            `json:"description"`
	Secret      string            `json:"secret,omitempty" doc:"Must be empty: berth generates every secret"`
	Level       string            `json:"level" doc:"system or project"`
	Disable     bool              `json:"disable"`
	Duration    *int              `json:"duration,omitempty" doc:"Lifetime in days, -1 for never; absent or 0 for the server's default"`
	Permissions []RobotPermission `json:"permissions"`
}

// RobotPermission grants access in one project, or in all ("*", system
// robots only).
type RobotPermission struct {
	Kind      string        `json:"kind" doc:"project (the only kind berth supports)"`
	Namespace string        `json:"namespace" doc:"The project, or * for every project"`
	Access    []RobotAccess `json:"access"`
}

// RobotAccess is one permission: an action on a resource (rbac's names).
type RobotAccess struct {
	Resource string `json:"resource" doc:"repository, artifact, tag, ... or *"`
	Action   string `json:"action" doc:"pull, push, delete, read, list, create, update, ... or *"`
	Effect   string `json:"effect,omitempty" doc:"allow; deny is not supported"`
}

// RobotCreated answers a creation: the only time the secret is shown.
type RobotCreated struct {
	ID           int64     `json:"id" doc:"Stable, never reused"`
	Name         string    `json:"name"`
	Secret       string    `json:"secret"`
	CreationTime time.Time `json:"creation_time"`
	ExpiresAt    int64     `json:"expires_at" doc:"Unix seconds; -1 for never"`
}

// Robot is a robot account, without its secret. As a PUT body, absent
// fields are kept; name and level cannot change.
type Robot struct {
	ID           int64             `json:"id" doc:"Stable, never reused; ignored in a PUT body"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	Level        string            `json:"level"`
	Duration     int               `json:"duration" doc:"Lifetime in days from creation, -1 for never"`
	Editable     bool              `json:"editable"`
	Disable      bool              `json:"disable"`
	ExpiresAt    int64             `json:"expires_at" doc:"Unix seconds; -1 for never"`
	Permissions  []RobotPermission `json:"permissions"`
	CreationTime time.Time         `json:"creation_time"`
	UpdateTime   time.Time         `json:"update_time"`
	CreatedBy    string            `json:"created_by" doc:"berth: who created the robot"`
}

// robotUpdate is how a PUT body is read: nil fields are kept.
type robotUpdate struct {
	Name        string             `json:"name"`
	Level       string             `json:"level"`
	Description *string            `json:"description"`
	Disable     *bool              `json:"disable"`
	Duration    *int               `json:"duration"`
	Permissions *[]RobotPermission `json:"permissions"`
}

// RobotSec carries a robot's new secret.
type RobotSec struct {
	Secret string `json:"secret" doc:"In a request: must be empty (berth generates secrets)"`
}

func unixOrNever(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.Unix()
}

func durationDays(r *auth.Robot) int {
	if r.ExpiresAt.IsZero() {
		return -1
	}
	return int(math.Round(r.ExpiresAt.Sub(r.CreatedAt).Hours() / 24))
}

func robotJSON(r *auth.Robot) Robot {
	return Robot{ID: r.ID, Name: r.Name, Description: r.Description, Level: string(r.Level), Duration: durationDays(r),
		Editable: true, Disable: r.Disabled, ExpiresAt: unixOrNever(r.ExpiresAt), Permissions: permsJSON(r.Permissions),
		CreationTime: r.CreatedAt, UpdateTime: r.UpdatedAt, CreatedBy: r.CreatedBy}
}

// permsJSON groups a robot's permissions by project, in order.
func permsJSON(perms []auth.RobotPermission) []RobotPermission {
	out := []RobotPermission{}
	for _, p := range perms {
		i := slices.IndexFunc(out, func(rp RobotPermission) bool { return rp.Namespace == p.Project })
		if i < 0 {
			out = append(out, RobotPermission{Kind: "project", Namespace: p.Project, Access: []RobotAccess{}})
			i = len(out) - 1
		}
		out[i].Access = append(out[i].Access, RobotAccess{Resource: p.Resource, Action: p.Action, Effect: "allow"})
	}
	return out
}

// knownResource and knownAction accept rbac's names and the wildcard.
func knownResource(r string) bool {
	switch rbac.Resource(r) {
	case "*", rbac.ResourceRepository, rbac.ResourceArtifact, rbac.ResourceTag, rbac.ResourceArtifactLabel,
		rbac.ResourceAccessory, rbac.ResourceScan, rbac.ResourceSBOM, rbac.ResourceProject, rbac.ResourceMetadata,
		rbac.ResourceMember, rbac.ResourceRobot, rbac.ResourceLog, rbac.ResourceLabel, rbac.ResourceQuota,
		rbac.ResourceConfiguration, rbac.ResourceScanner, rbac.ResourceImmutableTag, rbac.ResourceTagRetention,
		rbac.ResourceWebhook, rbac.ResourcePreheatPolicy, rbac.ResourceHelmChart, rbac.ResourceHelmChartVersion:
		return true
	}
	return false
}

func knownAction(a string) bool {
	switch rbac.Action(a) {
	case rbac.ActionAll, rbac.ActionPull, rbac.ActionPush, rbac.ActionDelete, rbac.ActionRead, rbac.ActionList,
		rbac.ActionCreate, rbac.ActionUpdate, rbac.ActionStop, rbac.ActionOperate:
		return true
	}
	return false
}

// robotPerms checks and flattens permissions for a robot of level in
// project ("" for system robots).
func robotPerms(level auth.RobotLevel, proj string, in []RobotPermission) ([]auth.RobotPermission, error) {
	if len(in) == 0 {
		return nil, badRequest("a robot needs at least one permission")
	}
	var out []auth.RobotPermission
	for _, rp := range in {
		switch {
		case rp.Kind != "project":
			return nil, badRequest(fmt.Sprintf("permission kind %q: berth supports only \"project\"", rp.Kind))
		case level == auth.RobotProject && rp.Namespace != proj:
			return nil, badRequest(fmt.Sprintf("a robot of project %q cannot hold permissions in %q", proj, rp.Namespace))
		case rp.Namespace == "":
			return nil, badRequest(`permission namespace is empty; name a project or "*"`)
		case len(rp.Access) == 0:
			return nil, badRequest(fmt.Sprintf("permission for %q lists no access", rp.Namespace))
		}
		for _, ac := range rp.Access {
			switch {
			case ac.Effect != "" && ac.Effect != "allow":
				return nil, badRequest(fmt.Sprintf("access effect %q: only allow is supported", ac.Effect))
			case !knownResource(ac.Resource):
				return nil, badRequest(fmt.Sprintf("access resource %q is unknown", ac.Resource))
			case !knownAction(ac.Action):
				return nil, badRequest(fmt.Sprintf("access action %q is unknown", ac.Action))
			}
			out = append(out, auth.RobotPermission{Project: rp.Namespace, Resource: ac.Resource, Action: ac.Action})
		}
	}
	return out, nil
}

// robotDays checks a duration in days: -1 or 1..maxRobotDays.
func robotDays(days int) error {
	if days == -1 || (days >= 1 && days <= maxRobotDays) {
		return nil
	}
	return badRequest("duration " + strconv.Itoa(days) + ": want -1 (never expires) or 1 to " + strconv.Itoa(maxRobotDays) + " days")
}
