// Package ui is berth's web portal: Harbor's portal pages (projects,
// repositories, artifacts, members, robots, replication, scanning,
// garbage collection, audit log, configuration) rendered on the server
// from Go templates, in English and Simplified Chinese.
//
// The portal knows berth only through the Harbor-compatible management
// API: every page is built from in-process calls to the handler it is
// given, made with the browser's own session cookie, so the portal can
// show or do nothing the signed-in user could not do with the API.
// Pages work without JavaScript (forms post, the server redirects); the
// small script only adds copy buttons, confirmations and select-all.
//
//	srv, _ := server.New(ctx, cfg)
//	portal, _ := ui.New(srv.Handler(), ui.WithBasePath("/"))
//	mux.Handle("/", portal)
//
// The reference server mounts it at its ui.path (default "/").
package ui
