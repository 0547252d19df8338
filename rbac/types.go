package rbac

// Role names a set of permissions in a project: one of Harbor's five built-in
// roles or a custom role defined in Policy.CustomRoles.
type Role string

// Harbor's built-in project roles, from least to most privileged. Each role
// holds every permission of the roles before it.
const (
	LimitedGuest Role = "limited-guest"
	Guest        Role = "guest"
	Developer    Role = "developer"
	Maintainer   Role = "maintainer"
	ProjectAdmin Role = "project-admin"
)

// Resource is what a permission is about.
type Resource string

// Project resources. The first group is repository-scoped: a decision about
// them names a repository, and repository-level grants apply to them. The
// rest are project-level. ResourceCatalog is system-level: only system
// administrators hold it.
const (
	ResourceRepository    Resource = "repository"
	ResourceArtifact      Resource = "artifact"
	ResourceTag           Resource = "tag"
	ResourceArtifactLabel Resource = "artifact-label"
	ResourceAccessory     Resource = "accessory"
	ResourceScan          Resource = "scan"
	ResourceSBOM          Resource = "sbom"

	ResourceProject          Resource = "project"
	ResourceMetadata         Resource = "metadata" // project settings, CVE allowlist
	ResourceMember           Resource = "member"
	ResourceRobot            Resource = "robot"
	ResourceLog              Resource = "log" // the project's audit log
	ResourceLabel            Resource = "label"
	ResourceQuota            Resource = "quota"
	ResourceConfiguration    Resource = "configuration"
	ResourceScanner          Resource = "scanner"
	ResourceImmutableTag     Resource = "immutable-tag"
	ResourceTagRetention     Resource = "tag-retention"
	ResourceWebhook          Resource = "webhook"
	ResourcePreheatPolicy    Resource = "preheat-policy"
	ResourceHelmChart        Resource = "helm-chart"
	ResourceHelmChartVersion Resource = "helm-chart-version"

	ResourceCatalog Resource = "catalog"

	// ResourceNotificationPolicy is Harbor's name for a webhook policy.
	ResourceNotificationPolicy = ResourceWebhook
)

// repositoryScoped reports whether decisions about r name a repository.
func repositoryScoped(r Resource) bool {
	switch r {
	case ResourceRepository, ResourceArtifact, ResourceTag, ResourceArtifactLabel,
		ResourceAccessory, ResourceScan, ResourceSBOM:
		return true
	}
	return false
}

// Action is what is done to a resource.
type Action string

// Actions. ActionAll, in a custom role or a robot's permission list, stands
// for every action on the resource.
const (
	ActionPull    Action = "pull"
	ActionPush    Action = "push"
	ActionDelete  Action = "delete"
	ActionRead    Action = "read"
	ActionList    Action = "list"
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionStop    Action = "stop"
	ActionOperate Action = "operate"
	ActionAll     Action = "*"
)

// Permission is an action on a resource. Resource "*" and Action "*" are
// wildcards, accepted in custom roles and robot permission lists.
type Permission struct {
	Resource Resource
	Action   Action
}

// String renders the permission as a person reads it: "push repository".
func (p Permission) String() string { return string(p.Action) + " " + string(p.Resource) }

// Kind says what sort of principal is calling.
type Kind int

// Principal kinds. The zero value is Anonymous, so a zero Principal is an
// unauthenticated caller.
const (
	Anonymous Kind = iota
	User
	Robot
)

// Principal is who asks: an authenticated user (with the groups its identity
// provider reported), a robot account, or an anonymous caller.
type Principal struct {
	Kind Kind
	Name string
	// Groups are the user's group names as bindings spell them after
	// "group:", for example LDAP DNs. Ignored for robots.
	Groups []string
	// SystemAdmin grants every permission everywhere. Ignored unless Kind is
	// User.
	SystemAdmin bool
}

// Binding gives a subject a role, or for robots an explicit permission list,
// in one project.
type Binding struct {
	// Subject is "user:<name>", "group:<name>" or "robot:<name>".
	Subject string
	// Project is a project name; robot bindings may use "*" for all projects.
	Project string
	// Role is a built-in or custom role name. Users and groups only.
	Role Role
	// Repositories, when set, restricts the binding to the repositories
	// matching this pattern, for example "library/team/**" (see Match). It
	// must start with Project + "/". Project-level resources are not covered.
	Repositories string
	// Permissions is a robot's explicit permission list. Robots only.
	Permissions []Permission
}

// Project is a project as RBAC sees it.
type Project struct {
	Name string
	// Public projects let anyone, including anonymous callers, pull, read and
	// list their repositories, artifacts and tags.
	Public bool
}

// Policy is everything the engine decides from: a plain value, typically
// built from the database by the caller.
type Policy struct {
	Projects    []Project
	Bindings    []Binding
	CustomRoles map[Role][]Permission
}

// Decision is the answer to one question, with a reason a person can read,
// such as `denied: bob is guest of project "library"; guest cannot push
// repository`.
type Decision struct {
	Allowed bool
	Reason  string
}
