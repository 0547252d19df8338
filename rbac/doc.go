// Package rbac decides whether a principal may perform an action on a
// project resource, with a reason.
//
// A Policy is a plain value: the projects (public or private), the bindings
// of users, groups and robots to roles in them, and any custom roles. New
// turns it into an Engine; Decide is a pure function of the Engine and its
// arguments, with no server, database or network behind it:
//
//	e, err := rbac.New(rbac.Policy{
//		Projects: []rbac.Project{{Name: "library", Public: true}, {Name: "secret"}},
//		Bindings: []rbac.Binding{
//			{Subject: "user:alice", Project: "library", Role: rbac.Developer},
//			{Subject: "group:qa", Project: "secret", Role: rbac.Guest},
//			{Subject: "user:bob", Project: "secret", Role: rbac.Maintainer, Repositories: "secret/team/**"},
//			{Subject: "robot:ci", Project: "*", Permissions: []rbac.Permission{
//				{Resource: rbac.ResourceRepository, Action: rbac.ActionPull}}},
//		},
//	})
//	if err != nil { ... }
//	alice := rbac.Principal{Kind: rbac.User, Name: "alice"}
//	d := e.Decide(alice, "", "library/app", rbac.Permission{
//		Resource: rbac.ResourceRepository, Action: rbac.ActionPush})
//	// d.Allowed == true
//	// d.Reason == `allowed: alice is developer of project "library"`
//
// The built-in roles are Harbor's: LimitedGuest, Guest, Developer,
// Maintainer and ProjectAdmin, each holding everything the previous one
// holds (Permissions lists them), plus system administrators
// (Principal.SystemAdmin), who may do anything anywhere. Beyond Harbor:
//
//   - repository-level grants: a binding whose Repositories pattern, such as
//     "library/team/**" or "library/app*", limits it to matching
//     repositories (see Match for the pattern syntax);
//   - custom roles, defined in Policy.CustomRoles from permissions;
//   - robots, which carry an explicit permission list per project, or for
//     every project with Project "*", instead of a role.
//
// For the token service, RepositoryActions maps the registry actions of a
// scope (pull, push, delete, *) to decisions on the repository's project.
//
// Casbin is the policy engine of record; see Engine for how the hot path
// stays in the sub-microsecond range.
package rbac
