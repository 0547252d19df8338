// Package api is the management REST API of a berth registry, shaped like
// Harbor's /api/v2.0: projects, members, users, robot accounts,
// repositories, artifacts with their tags, the audit log, systeminfo and
// ping, with an OpenAPI 3 document served at /api/v2.0/openapi.json.
//
// One route table registers the handlers and renders the OpenAPI document,
// so the two cannot drift apart. Every request is identified by the
// Access's Principal (Basic credentials; anonymous without any) and every
// handler asks the Access's Decide on the rbac resource and action it
// touches; *auth.Gatekeeper implements Access, with the RBAC engine built
// by PolicyLoader:
//
//	policy := auth.NewPolicy(api.PolicyLoader(projects, robots))
//	gk := auth.NewGatekeeper(users, robots, projects, policy, tokens, realm)
//	a, err := api.New(api.Deps{Projects: projects, Users: users, Robots: robots,
//		Audit: auditStore, Registry: reg, Access: gk},
//		api.WithVersion(version), api.WithRegistryURL("registry.example.com"))
//	mux.Handle(api.BasePath+"/", a)
//
// The integrator wires what keeps the stores consistent with each other:
// project.WithRepositoryCounter(reg.CountRepositories), so that deleting a
// project that still holds repositories is refused (412 here), and change
// hooks on the project, user and robot stores that call
// Gatekeeper.Invalidate and record audit entries.
//
// Conventions, as in Harbor: listings take page (from 1) and page_size (1
// to 100, default 10) and answer X-Total-Count and RFC 5988 Link headers;
// filters use q ("name=~app,public=true"); errors are
// {"errors":[{"code":"NOT_FOUND","message":"..."}]}, with 401 answers
// carrying a Basic challenge and 403 answers RBAC's reason. Request bodies
// are bounded to 1 MiB; unknown JSON fields are ignored.
//
// Where berth differs from Harbor: users, members and robots are addressed
// by name, not number (a member's ID is an opaque string derived from its
// subject and repository pattern); members may be limited to repositories
// matching a pattern ("repositories"); robot secrets are always generated;
// server features berth lacks (proxy cache, Notary, ChartMuseum) are
// reported off or refused.
package api
