package rbac

import (
	"sync"

	"github.com/casbin/casbin/v2"
)

// Engine decides what principals may do under one Policy. It is immutable
// once built and safe for concurrent use; to change the policy, build a new
// Engine and swap it in.
//
// Casbin is the policy engine of record: New translates the Policy into
// Casbin rules (see casbinModel) loaded into an enforcer, then compiles the
// enforcer's rules back into per-(subject, project) tables. Decide reads only
// those tables, because Casbin's Enforce evaluates its matcher against every
// p rule on each call (about 40 µs and 250 allocations per subject for the
// benchmark's 1,000-project policy, where Decide takes 0.1–0.5 µs) and cannot
// say which binding decided. A test evaluates the same requests through the
// enforcer and through Decide and requires the same answers.
type Engine struct {
	projects map[string]Project
	t        *tables
	enforcer *casbin.Enforcer // the policy of record; not used by Decide

	links    sync.Once // builds the enforcer's role links for enforce
	linksErr error
}

// enforce asks the Casbin enforcer itself, as the tests holding Decide to
// it do. Its role links are built on first use: Decide never needs them,
// and building them costs time quadratic in the number of projects.
func (e *Engine) enforce(sub, scope, obj, act string) (bool, error) {
	e.links.Do(func() { e.linksErr = e.enforcer.BuildRoleLinks() })
	if e.linksErr != nil {
		return false, e.linksErr
	}
	return e.enforcer.Enforce(sub, scope, obj, act)
}

// Option configures New.
type Option func(*options)

type options struct {
	public      []Permission
	adminGroups []string
}

// WithPublicPermissions replaces what anyone, anonymous included, may do in
// a public project. The default is pull, read and list of repositories, and
// read and list of artifacts and tags (Harbor also lets them read helm
// charts: add those here to match).
func WithPublicPermissions(perms ...Permission) Option {
	return func(o *options) { o.public = append([]Permission(nil), perms...) }
}

// WithAdminGroups makes members of these groups system administrators, like
// Harbor's LDAP/OIDC admin group.
func WithAdminGroups(groups ...string) Option {
	return func(o *options) { o.adminGroups = append(o.adminGroups, groups...) }
}

// New validates p and builds an Engine from it. An unknown role, a binding
// to an unknown project or a malformed repository pattern is an error
// (matching ErrUnknownRole, ErrUnknownProject or ErrInvalidPolicy).
func New(p Policy, opts ...Option) (*Engine, error) {
	o := options{public: defaultPublic}
	for _, opt := range opts {
		opt(&o)
	}
	if err := validate(p, o); err != nil {
		return nil, err
	}
	enf, err := newEnforcer(p, o)
	if err != nil {
		return nil, err
	}
	t, err := compile(enf)
	if err != nil {
		return nil, err
	}
	e := &Engine{projects: make(map[string]Project, len(p.Projects)), t: t, enforcer: enf}
	for _, pr := range p.Projects {
		e.projects[pr.Name] = pr
	}
	return e, nil
}
