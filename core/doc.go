// Package core is the vocabulary every berth package shares, and nothing
// else: the access a request needs (token-scope shaped), the actor in a
// context, registry events and the sinks that receive them, the kinds of
// errors and their HTTP statuses, and one page of a listing. It imports
// only the standard library and go-digest, so that a package using it
// (the token service, the audit log) compiles no database or HTTP stack.
//
//	ctx = core.WithActor(ctx, "alice")
//	err := fmt.Errorf("project %q: %w", name, core.ErrNotFound)
//	core.HTTPStatus(err) // 404
package core
