// Package project is Harbor's resource isolation: projects (the first path
// component of a repository), their visibility, settings and members, in
// SQL.
//
// A project is public (anyone, even anonymous, may pull) or private. Its
// Metadata carries the settings later features read: auto-scan, the
// vulnerability gate, the content trust mode, the CVE allowlist choice and
// the storage quota, plus Extra for settings this version does not know.
// Members grant a role to a user or a group ("user:alice",
// "group:cn=devs,ou=groups,dc=example"), on the whole project or on the
// repositories matching a glob ("library/app-*"). Roles are plain strings
// checked by a validator (Harbor's five by default; plug the rbac
// package's lookup in with WithRoleValidator for custom roles).
//
//	db, _ := sqldb.OpenSQLite(ctx, "/var/lib/berth/berth.db")
//	projects, _ := project.NewStore(ctx, db,
//		project.WithRepositoryCounter(countRepositories), // Delete refuses non-empty projects
//		project.WithChangeHook(func(ctx context.Context, c project.Change) {
//			auditLog.Record(ctx, c) // and drop cached RBAC policies
//		}))
//	_, err := projects.Create(ctx, project.Project{Name: "library", Public: true, Owner: "alice"},
//		project.Member{Subject: "user:alice", Role: project.RoleProjectAdmin})
//
// An access check resolves the project of a repository on every request:
//
//	name, ok := project.ProjectOf("library/nginx") // "library"
//	exists, public, err := projects.Public(ctx, name)
//
// Exists and Public are answered from an in-process cache that every change
// made through the Store invalidates, so they are exact within one process.
// The cache is on only when the process is the database's sole user
// (embedded SQLite); with a shared database (sqldb.OpenPostgres, for
// several processes) they read SQL. Pushes into a
// project that does not exist should be refused by the Authorizer, before
// any blob is uploaded.
//
// A policy is built from MembershipsOf (a user and their groups) or
// AllMembers; a Change hook, fired after every commit, tells when to
// rebuild it. Changes carry the actor recorded with registry.WithActor.
package project
