// Package auth is who is calling: users, robots, and (in sub-packages)
// tokens and LDAP.
//
// Users are accounts with argon2id password hashes (bcrypt hashes imported
// from other systems verify too and are upgraded at the next login), a
// system-admin flag, and a source: "local" accounts log in here, "ldap"
// ones are onboarded by auth/ldap on their first login. Robots are
// Harbor-style machine accounts (robot$name, robot$project+name) with an
// explicit permission list, an expiry and a secret shown once and stored
// only as a keyed hash. Both stores keep their state in a shared
// sqldb.DB and report every change to an optional hook, for the audit log.
//
//	db, err := sqldb.OpenSQLite(ctx, "/var/lib/berth/berth.db")
//	users, err := auth.NewUsers(ctx, db, auth.WithChangeHook(audit))
//	// First start: the admin password comes from config or env; there
//	// is no default.
//	created, err := users.Bootstrap(ctx, "admin", os.Getenv("BERTH_ADMIN_PASSWORD"))
//	u, err := users.Authenticate(ctx, name, password) // ErrInvalidCredentials
//
//	robots, err := auth.NewRobots(ctx, db)
//	r, secret, err := robots.Create(ctx, auth.Robot{Name: "ci", Project: "library",
//		Permissions: []auth.RobotPermission{{Resource: "repository", Action: "push"}}})
//	// r.Name == "robot$library+ci"; give secret to the CI system now.
//	r, err = robots.Authenticate(ctx, r.Name, secret) // ErrExpired, ErrDisabled, ...
//
// The stores run on SQLite and on PostgreSQL, where several processes
// share the database: concurrent changes lose nothing (one last admin
// stays; of two password changes from the same old password one wins),
// and a Gatekeeper over a shared database lets its cached logins and RBAC
// policy lag another process's changes by at most 30 seconds (its own
// changes take effect at once, through Invalidate).
//
// Errors are sentinels to match with errors.Is. Answer a client the same
// way for every authentication failure: the messages are for logs.
package auth
