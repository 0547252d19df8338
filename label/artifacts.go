package label

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// Artifact names an artifact as attachments key it.
type Artifact struct {
	ProjectID  int64         // the project's immutable id
	Repository string        // the full name: "library/app"
	Digest     digest.Digest // the manifest's
}

func (a Artifact) check() error {
	switch {
	case a.ProjectID <= 0:
		return invalid("an artifact needs its project's id")
	case a.Repository == "" || len(a.Repository) > 4096:
		return invalid("repository name %q", a.Repository)
	}
	if err := a.Digest.Validate(); err != nil {
		return invalid("digest %q: %v", a.Digest, err)
	}
	return nil
}

func (a Artifact) String() string { return a.Repository + "@" + a.Digest.String() }

// Attach puts label labelID on artifact a. A project label attaches only
// within its own project (core.ErrInvalid otherwise), a global one
// anywhere; a label already on a is core.ErrExists, an unknown label
// core.ErrNotFound. The caller checks that the artifact exists.
func (s *Store) Attach(ctx context.Context, a Artifact, labelID int64) error {
	if err := a.check(); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// On PostgreSQL the label is held (FOR SHARE: attachments of one
		// label do not wait for each other) until the commit, so a Delete
		// or ForgetProject running meanwhile waits and then removes the
		// attachment with its label, or comes first and leaves no label
		// to attach.
		l, err := scanLabel(tx.QueryRow(ctx, `SELECT `+labelColumns+` FROM label_labels WHERE id = ?`+forShare(tx), labelID))
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return notFound(labelID)
			}
			return err
		}
		if l.Scope == ScopeProject && l.ProjectID != a.ProjectID {
			return invalid("label %d (%q) belongs to project %d: it cannot be added to %s of project %d",
				l.ID, l.Name, l.ProjectID, a, a.ProjectID)
		}
		res, err := tx.Exec(ctx, `INSERT INTO label_artifacts (repository, digest, project_id, label_id, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, a.Repository, a.Digest.String(), a.ProjectID, labelID, ms(s.now()))
		return changedRow(res, err, func() error {
			return fmt.Errorf("label %d is already on %s: %w", labelID, a, core.ErrExists)
		})
	})
	if err != nil && !isKind(err) {
		return fmt.Errorf("label: attach: %w", err)
	}
	return err
}

// forShare is the clause that holds the rows a SELECT reads against
// deletion and change until tx ends, letting other readers that hold them
// too go on: " FOR SHARE" on PostgreSQL, "" on SQLite, where tx excludes
// every other writer.
func forShare(tx *sqldb.Tx) string {
	if tx.ForUpdate() == "" {
		return ""
	}
	return " FOR SHARE"
}

// Detach takes label labelID off artifact a; core.ErrNotFound when it is
// not on it.
func (s *Store) Detach(ctx context.Context, a Artifact, labelID int64) error {
	if err := a.check(); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM label_artifacts WHERE repository = ? AND digest = ? AND project_id = ?
			AND label_id = ?`, a.Repository, a.Digest.String(), a.ProjectID, labelID)
		return changedRow(res, err, func() error {
			return fmt.Errorf("label %d is not on %s: %w", labelID, a, core.ErrNotFound)
		})
	})
	if err != nil && !isKind(err) {
		return fmt.Errorf("label: detach: %w", err)
	}
	return err
}

// attachedColumns are labelColumns of label_labels joined as l.
const attachedColumns = `l.id, l.name, l.description, l.color, l.scope, l.project_id, l.created_at, l.updated_at`

// LabelsOf returns the labels on the artifact of project projectID,
// repository repo (its full name) and digest d, by id; none is an empty
// slice.
func (s *Store) LabelsOf(ctx context.Context, projectID int64, repo string, d digest.Digest) ([]Label, error) {
	rows, err := s.db.Query(ctx, `SELECT `+attachedColumns+` FROM label_artifacts a
		JOIN label_labels l ON l.id = a.label_id
		WHERE a.repository = ? AND a.digest = ? AND a.project_id = ? AND (l.scope = 'g' OR l.project_id = a.project_id)
		ORDER BY l.id`, repo, d.String(), projectID)
	if err != nil {
		return nil, fmt.Errorf("label: labels of %s@%s: %w", repo, d, err)
	}
	defer rows.Close()
	out := []Label{}
	for rows.Next() {
		l, err := scanLabel(rows)
		if err != nil {
			return nil, fmt.Errorf("label: labels of %s@%s: %w", repo, d, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("label: labels of %s@%s: %w", repo, d, err)
	}
	return out, nil
}

// maxBatch bounds the digests LabelsOfMany asks about in one query.
const maxBatch = 200

// LabelsOfMany returns the labels on each of the artifacts digests of
// one repository (a listing's page), by digest; artifacts without labels
// are absent from the map.
func (s *Store) LabelsOfMany(ctx context.Context, projectID int64, repo string, digests []digest.Digest) (map[digest.Digest][]Label, error) {
	out := map[digest.Digest][]Label{}
	for len(digests) > 0 {
		chunk := digests[:min(len(digests), maxBatch)]
		digests = digests[len(chunk):]
		args := []any{repo, projectID}
		for _, d := range chunk {
			args = append(args, d.String())
		}
		rows, err := s.db.Query(ctx, `SELECT a.digest, `+attachedColumns+` FROM label_artifacts a
			JOIN label_labels l ON l.id = a.label_id
			WHERE a.repository = ? AND a.project_id = ? AND a.digest IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)
			AND (l.scope = 'g' OR l.project_id = a.project_id)
			ORDER BY a.digest, l.id`, args...)
		if err != nil {
			return nil, fmt.Errorf("label: labels of %s: %w", repo, err)
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				var d string
				var l Label
				var created, updated int64
				if err := rows.Scan(&d, &l.ID, &l.Name, &l.Description, &l.Color, &l.Scope, &l.ProjectID,
					&created, &updated); err != nil {
					return err
				}
				l.CreatedAt, l.UpdatedAt = fromMS(created), fromMS(updated)
				out[digest.Digest(d)] = append(out[digest.Digest(d)], l)
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("label: labels of %s: %w", repo, err)
		}
	}
	return out, nil
}

// ArtifactsWithLabel returns a page of the artifacts carrying label
// labelID — in project projectID, or in every project when it is 0 — by
// project, repository and digest (default 20, at most 1000 a page), and
// how many there are in all. An artifact deleted while no Sink listened
// may be among them (see the package documentation).
func (s *Store) ArtifactsWithLabel(ctx context.Context, labelID, projectID int64, page core.Page) ([]Artifact, int, error) {
	page = page.Bounded(DefaultPageSize, MaxPageSize)
	where, args := ` WHERE label_id = ?`, []any{labelID}
	if projectID != 0 {
		where, args = where+` AND project_id = ?`, append(args, projectID)
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM label_artifacts`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("label: artifacts with label %d: %w", labelID, err)
	}
	out := []Artifact{}
	if total <= page.Offset {
		return out, total, nil
	}
	rows, err := s.db.Query(ctx, `SELECT project_id, repository, digest FROM label_artifacts`+where+
		` ORDER BY project_id, repository, digest LIMIT ? OFFSET ?`, append(args, page.Limit, page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("label: artifacts with label %d: %w", labelID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Artifact
		var d string
		if err := rows.Scan(&a.ProjectID, &a.Repository, &d); err != nil {
			return nil, 0, fmt.Errorf("label: artifacts with label %d: %w", labelID, err)
		}
		a.Digest = digest.Digest(d)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("label: artifacts with label %d: %w", labelID, err)
	}
	return out, total, nil
}

// ForgetArtifact removes every attachment of the manifest d in
// repository repo (its full name), in whichever project: call it when the
// artifact is deleted. It writes only when there is something to remove.
func (s *Store) ForgetArtifact(ctx context.Context, repo string, d digest.Digest) error {
	return s.forget(ctx, `repository = ? AND digest = ?`, repo, d.String())
}

// ForgetRepository removes every attachment of the artifacts of
// repository repo (its full name): call it when the repository is
// deleted.
func (s *Store) ForgetRepository(ctx context.Context, repo string) error {
	return s.forget(ctx, `repository = ?`, repo)
}

func (s *Store) forget(ctx context.Context, where string, args ...any) error {
	// A read first: most deletions concern artifacts without labels, and
	// reads do not wait for the single writer.
	var one int
	err := s.db.QueryRow(ctx, `SELECT 1 FROM label_artifacts WHERE `+where+` LIMIT 1`, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err == nil {
		err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM label_artifacts WHERE `+where, args...)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("label: forget %v: %w", args, err)
	}
	return nil
}

// Sink returns an event sink that forgets the attachments of each
// manifest the registry reports deleted (a repository's deletion reports
// every manifest it held). Give it to the registry with
// registry.WithEventSink or to a server Assembly's AddEventSink. Failures
// are logged to log (nil: slog.Default()).
func (s *Store) Sink(log *slog.Logger) core.EventSink {
	if log == nil {
		log = slog.Default()
	}
	return core.EventSinkFunc(func(ctx context.Context, e core.Event) {
		if e.Refused != "" || e.Action != core.EventDelete || e.Target != core.TargetManifest || e.Digest == "" {
			return
		}
		if err := s.ForgetArtifact(context.WithoutCancel(ctx), e.Repository, e.Digest); err != nil {
			log.ErrorContext(ctx, "label: attachments of a deleted artifact not removed", "repository", e.Repository,
				"digest", e.Digest, "err", err)
		}
	})
}
