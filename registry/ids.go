package registry

import (
	"context"
	"fmt"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// Numeric ids of repositories, artifacts and tags live in side tables
// (migrations 0006): a row is added in the transaction that first stores
// what it names and removed with it, and the tables' AUTOINCREMENT (SQLite)
// or identity (PostgreSQL) columns never give an id twice.

// addRepositoryID gives repo an id unless it has one.
func addRepositoryID(ctx context.Context, tx *sqldb.Tx, repo string) error {
	_, err := tx.Exec(ctx, `INSERT INTO registry_repository_ids (repo) VALUES (?) ON CONFLICT (repo) DO NOTHING`, repo)
	return err
}

// addArtifactID gives the manifest d of repo an id unless it has one.
func addArtifactID(ctx context.Context, tx *sqldb.Tx, repo, d string) error {
	_, err := tx.Exec(ctx, `INSERT INTO registry_artifact_ids (repo, digest) VALUES (?, ?) ON CONFLICT (repo, digest) DO NOTHING`, repo, d)
	return err
}

// addTagID gives the tag of repo an id unless it has one: a tag moved to
// another manifest keeps its id.
func addTagID(ctx context.Context, tx *sqldb.Tx, repo, tag string) error {
	_, err := tx.Exec(ctx, `INSERT INTO registry_tag_ids (repo, name) VALUES (?, ?) ON CONFLICT (repo, name) DO NOTHING`, repo, tag)
	return err
}

// dropArtifactIDs removes the ids of the manifest d of repo and of the
// tags that pointed at it; the caller deletes the tags in the same
// transaction, after this.
func dropArtifactIDs(ctx context.Context, tx *sqldb.Tx, repo, d string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM registry_tag_ids WHERE repo = ?
		AND name IN (SELECT name FROM registry_tags WHERE repo = ? AND digest = ?)`, repo, repo, d); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM registry_artifact_ids WHERE repo = ? AND digest = ?`, repo, d)
	return err
}

// dropTagID removes a deleted tag's id.
func dropTagID(ctx context.Context, tx *sqldb.Tx, repo, tag string) error {
	_, err := tx.Exec(ctx, `DELETE FROM registry_tag_ids WHERE repo = ? AND name = ?`, repo, tag)
	return err
}

// dropRepositoryIDs removes the ids of a deleted repository and of
// everything in it.
func dropRepositoryIDs(ctx context.Context, tx *sqldb.Tx, repo string) error {
	for _, q := range []string{
		`DELETE FROM registry_tag_ids WHERE repo = ?`,
		`DELETE FROM registry_artifact_ids WHERE repo = ?`,
		`DELETE FROM registry_repository_ids WHERE repo = ?`,
	} {
		if _, err := tx.Exec(ctx, q, repo); err != nil {
			return err
		}
	}
	return nil
}

// SetRepositoryDescription stores repo's description (what Harbor's
// repository update changes).
func (rg *Registry) SetRepositoryDescription(ctx context.Context, repo, description string) error {
	if len(description) > MaxDescription {
		return core.New(core.ErrInvalid, fmt.Sprintf("a description of %d bytes is longer than %d", len(description), MaxDescription))
	}
	return rg.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE registry_repository_ids SET description = ? WHERE repo = ?`, description, repo)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("repository", repo)
		}
		return nil
	})
}

// MaxDescription bounds a repository's description, in bytes.
const MaxDescription = 64 << 10
