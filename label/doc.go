// Package label keeps Harbor's labels and the artifacts carrying them.
//
// A Label is global (ScopeGlobal, "g": made by system administrators,
// attachable to any artifact) or belongs to a project (ScopeProject, "p":
// keyed by the project's immutable id, attachable only to artifacts of
// that project). Its name is unique within its scope, and for project
// labels within the project; its color is empty or "#RRGGBB". Ids are
// never reused. Retention and replication rules name labels, as Harbor's
// do, so a label deleted and made again under the same name matches them
// again; a deleted label is taken off every artifact at once.
//
// An attachment joins a label to an Artifact: the project's id, the
// repository's full name ("library/app", as the registry names it) and
// the manifest digest. Tags carry no labels; every tag of an artifact
// shows its artifact's.
//
// # Use
//
//	s, err := label.New(ctx, db) // applies its migrations
//	l, err := s.Create(ctx, label.Label{Name: "prod", Color: "#1D5100", Scope: label.ScopeProject, ProjectID: 7})
//	err = s.Attach(ctx, label.Artifact{ProjectID: 7, Repository: "shop/api", Digest: d}, l.ID)
//	ls, err := s.LabelsOf(ctx, 7, "shop/api", d)
//	arts, total, err := s.ArtifactsWithLabel(ctx, l.ID, 7, core.Page{Limit: 100})
//	projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
//		return s.ForgetProject(ctx, tx, p.ID)
//	})
//	registry.WithEventSink(s.Sink(logger)) // attachments go with their artifacts
//
// # Artifacts that go
//
// The Sink forgets an artifact's attachments when the registry reports
// the manifest deleted (a repository's deletion reports each of its
// manifests), so a digest pushed again later starts with no labels.
// ForgetArtifact and ForgetRepository do the same when called directly.
// The sink runs after the deletion commits: a process that stops between
// the two, or a registry wired without the sink, leaves attachments of an
// artifact that is gone. They are harmless where the caller starts from
// an artifact that exists (LabelsOf); ArtifactsWithLabel may list them,
// and its callers (retention, replication filters) resolve each artifact
// against the registry and skip the ones it no longer holds.
//
// Errors wrap core's kinds: core.ErrNotFound, core.ErrExists (a name
// taken, a label already attached) and core.ErrInvalid.
package label
