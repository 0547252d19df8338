package registry

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// Repository summarises one repository.
type Repository struct {
	ID          int64 // stable, never given to another repository
	Name        string
	Description string
	Artifacts   int
	CreatedAt   time.Time
	UpdatedAt   time.Time // last manifest push or tag change
}

// Artifact is one manifest in a repository with the tags pointing at it.
type Artifact struct {
	ID           int64 // of the manifest in this repository: stable, never reused
	RepositoryID int64
	Repository   string
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	Size         int64 // of the manifest itself: a descriptor's size
	// TotalSize is the manifest and the blobs it references (config,
	// layers), as Harbor shows an artifact's size; an index counts its
	// own manifest only.
	TotalSize int64
	Subject   digest.Digest
	Tags      []string
	PushedAt  time.Time
	PulledAt  time.Time // zero: never pulled (pull times are written every few seconds)
	// TagTimes has the id and the push and pull times of each of Tags, in
	// order.
	TagTimes []TagTime
}

// TagTime is a tag's id (kept when the tag moves), when it was pushed
// (pointed at its artifact) and last pulled (zero: never).
type TagTime struct {
	ID                 int64
	Name               string
	PushedAt, PulledAt time.Time
}

func unixOrZero(t int64) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(0, t)
}

// RepositoryOrder is the order of a repository listing.
type RepositoryOrder int

// Repository orders.
const (
	ByName    RepositoryOrder = iota // by name (the default)
	ByCreated                        // oldest first
	ByUpdated                        // least recently changed first
)

// RepositoryQuery selects repositories.
type RepositoryQuery struct {
	// Prefixes keeps the names that start with one of these; nil keeps
	// every repository, an empty non-nil slice none.
	Prefixes []string
	// Contains keeps the names that contain this.
	Contains string
	// Names keeps these names (nil: any; at most 100).
	Names []string
	Order RepositoryOrder
	Desc  bool // reverse Order
}

// maxQueryPrefixes bounds RepositoryQuery.Prefixes.
const maxQueryPrefixes = 1000

// ListRepositories lists repositories whose name starts with prefix, by
// name, with the total count of matches.
func (rg *Registry) ListRepositories(ctx context.Context, prefix string, page core.Page) ([]Repository, int, error) {
	return rg.FindRepositories(ctx, RepositoryQuery{Prefixes: []string{prefix}}, page)
}

// FindRepositories lists the repositories q selects, in q's order, with
// the total count of matches.
func (rg *Registry) FindRepositories(ctx context.Context, q RepositoryQuery, page core.Page) ([]Repository, int, error) {
	if q.Prefixes != nil && len(q.Prefixes) == 0 {
		return nil, 0, nil
	}
	if len(q.Prefixes) > maxQueryPrefixes {
		return nil, 0, core.New(core.ErrInvalid, "too many repository name prefixes in one query")
	}
	var conds []string
	var args []any
	if q.Prefixes != nil {
		// Padded to a power of two with repeats, so that the query texts
		// (each prepared and cached by sqldb) stay few.
		prefixes := q.Prefixes
		for n := 1; ; n *= 2 {
			if n >= len(prefixes) {
				for len(prefixes) < n {
					prefixes = append(prefixes, q.Prefixes[0])
				}
				break
			}
		}
		var or []string
		for _, p := range prefixes {
			or = append(or, `r.name LIKE ? ESCAPE '\'`)
			args = append(args, likePrefix(p))
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	if q.Names != nil {
		if len(q.Names) == 0 {
			return nil, 0, nil
		}
		if len(q.Names) > maxQueryValues {
			return nil, 0, core.New(core.ErrInvalid, "too many repository names in one query")
		}
		conds = append(conds, "r.name IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(q.Names)), ", ")+")")
		for _, n := range q.Names {
			args = append(args, n)
		}
	}
	if q.Contains != "" {
		conds = append(conds, `r.name LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likePrefix(q.Contains))
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := rg.db.QueryRow(ctx, `SELECT COUNT(*) FROM registry_repositories r`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	order := "r.name" + dir
	switch q.Order {
	case ByCreated:
		order = "r.created_at" + dir + ", r.name"
	case ByUpdated:
		order = "updated" + dir + ", r.name"
	}
	rows, err := rg.db.Query(ctx, `SELECT id, name, description, created_at, artifacts, updated FROM (
			SELECT id, name, description, created_at, artifacts,
				CASE WHEN pushed > tagged THEN pushed ELSE tagged END AS updated FROM (
				SELECT COALESCE(i.id, 0) AS id, r.name AS name, COALESCE(i.description, '') AS description, r.created_at AS created_at,
				(SELECT COUNT(*) FROM registry_repo_manifests rm WHERE rm.repo = r.name) AS artifacts,
				COALESCE((SELECT MAX(rm.created_at) FROM registry_repo_manifests rm WHERE rm.repo = r.name), r.created_at) AS pushed,
				COALESCE((SELECT MAX(t.updated_at) FROM registry_tags t WHERE t.repo = r.name), 0) AS tagged
				FROM registry_repositories r LEFT JOIN registry_repository_ids i ON i.repo = r.name`+where+`) s) r
		ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, clampLimit(page.Limit, rg.maxPageSize), max(page.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Repository
	for rows.Next() {
		var r Repository
		var created, updated int64
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &created, &r.Artifacts, &updated); err != nil {
			return nil, 0, err
		}
		r.CreatedAt, r.UpdatedAt = time.Unix(0, created), time.Unix(0, updated)
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// CountRepositories counts repositories of a project (names under
// "<project>/").
func (rg *Registry) CountRepositories(ctx context.Context, project string) (int, error) {
	var n int
	err := rg.db.QueryRow(ctx, `SELECT COUNT(*) FROM registry_repositories WHERE name LIKE ? ESCAPE '\'`,
		likePrefix(project+"/")).Scan(&n)
	return n, err
}

const artifactCols = `COALESCE(ai.id, 0), COALESCE(ri.id, 0), rm.repo, m.digest, m.media_type, m.artifact_type, m.subject, m.size, ` +
	artifactSizeRM + `, rm.created_at, rm.pulled_at`

// artifactSizeRM is artifactSize of the listing's aliases.
const artifactSizeRM = `(m.size + COALESCE((SELECT SUM(rb.size) FROM registry_manifest_refs r
		JOIN registry_repo_blobs rb ON rb.repo = rm.repo AND rb.digest = r.child
		WHERE r.parent = m.digest AND r.kind = 'blob'), 0))`

// artifactSize is the SQL for an artifact's size, as Harbor counts it: its
// manifest (table alias m) and the blobs it references (config, layers),
// as stored in repo's blob table. An index counts its own manifest only.
//
// artifactSizeRM is the same for the aliases m and rm.repo; a test holds
// the two to the same text.
func artifactSize(m, repo string) string {
	return `(` + m + `.size + COALESCE((SELECT SUM(rb.size) FROM registry_manifest_refs r
		JOIN registry_repo_blobs rb ON rb.repo = ` + repo + ` AND rb.digest = r.child
		WHERE r.parent = ` + m + `.digest AND r.kind = 'blob'), 0))`
}

const artifactFrom = ` FROM registry_repo_manifests rm JOIN registry_manifests m ON m.digest = rm.digest
	LEFT JOIN registry_artifact_ids ai ON ai.repo = rm.repo AND ai.digest = rm.digest
	LEFT JOIN registry_repository_ids ri ON ri.repo = rm.repo`

func scanArtifact(row interface{ Scan(...any) error }) (Artifact, error) {
	var a Artifact
	var d, subj string
	var pushed, pulled int64
	if err := row.Scan(&a.ID, &a.RepositoryID, &a.Repository, &d, &a.MediaType, &a.ArtifactType, &subj, &a.Size, &a.TotalSize, &pushed, &pulled); err != nil {
		return a, err
	}
	a.Digest, a.Subject, a.PushedAt, a.PulledAt = digest.Digest(d), digest.Digest(subj), time.Unix(0, pushed), unixOrZero(pulled)
	return a, nil
}

// ListArtifacts lists a repository's manifests, newest first, with tags.
func (rg *Registry) ListArtifacts(ctx context.Context, repo string, page core.Page) ([]Artifact, int, error) {
	var total int
	if err := rg.db.QueryRow(ctx, `SELECT COUNT(*) FROM registry_repo_manifests WHERE repo = ?`, repo).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 {
		if ok, err := rg.meta.repoExists(ctx, repo); err != nil || !ok {
			return nil, 0, errors.Join(err, notFound("repository", repo))
		}
	}
	out, err := rg.artifacts(ctx, `rm.repo = ?`, []any{repo}, page)
	return out, total, err
}

// ListArtifactsUnder lists the manifests of every repository whose name
// starts with prefix (a project's, with "<project>/"), newest first, with
// tags.
func (rg *Registry) ListArtifactsUnder(ctx context.Context, prefix string, page core.Page) ([]Artifact, int, error) {
	var total int
	if err := rg.db.QueryRow(ctx, `SELECT COUNT(*) FROM registry_repo_manifests rm WHERE rm.repo LIKE ? ESCAPE '\'`,
		likePrefix(prefix)).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := rg.artifacts(ctx, `rm.repo LIKE ? ESCAPE '\'`, []any{likePrefix(prefix)}, page)
	return out, total, err
}

func (rg *Registry) artifacts(ctx context.Context, where string, args []any, page core.Page) ([]Artifact, error) {
	return rg.artifactsOrdered(ctx, where, args, "rm.created_at DESC, rm.repo, m.digest", page)
}

// artifactsOrdered lists the artifacts matching where, in order, with tags.
func (rg *Registry) artifactsOrdered(ctx context.Context, where string, args []any, order string, page core.Page) ([]Artifact, error) {
	rows, err := rg.db.Query(ctx, `SELECT `+artifactCols+artifactFrom+` WHERE `+where+`
		ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, clampLimit(page.Limit, rg.maxPageSize), max(page.Offset, 0))...)
	if err != nil {
		return nil, err
	}
	var out []Artifact
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := rg.tagTimes(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetArtifact finds an artifact by tag or digest.
func (rg *Registry) GetArtifact(ctx context.Context, repo, ref string) (*Artifact, error) {
	mr, err := rg.meta.queryManifest(ctx, repo, ref, false)
	if errors.Is(err, errNotFound) {
		return nil, notFound("artifact", repo+":"+ref)
	}
	if err != nil {
		return nil, err
	}
	a, err := scanArtifact(rg.db.QueryRow(ctx, `SELECT `+artifactCols+artifactFrom+` WHERE rm.repo = ? AND rm.digest = ?`,
		repo, mr.Digest.String()))
	if errors.Is(err, sql.ErrNoRows) { // deleted since
		return nil, notFound("artifact", repo+":"+ref)
	}
	if err != nil {
		return nil, err
	}
	return &a, rg.tagTimes(ctx, &a)
}

// tagTimes fills a's tags and their ids and times.
func (rg *Registry) tagTimes(ctx context.Context, a *Artifact) error {
	rows, err := rg.db.Query(ctx, `SELECT COALESCE(i.id, 0), t.name, t.updated_at, t.pulled_at FROM registry_tags t
		LEFT JOIN registry_tag_ids i ON i.repo = t.repo AND i.name = t.name
		WHERE t.repo = ? AND t.digest = ? ORDER BY t.name`,
		a.Repository, a.Digest.String())
	if err != nil {
		return err
	}
	defer rows.Close()
	a.Tags, a.TagTimes = nil, nil
	for rows.Next() {
		var tt TagTime
		var pushed, pulled int64
		if err := rows.Scan(&tt.ID, &tt.Name, &pushed, &pulled); err != nil {
			return err
		}
		tt.PushedAt, tt.PulledAt = time.Unix(0, pushed), unixOrZero(pulled)
		a.Tags = append(a.Tags, tt.Name)
		a.TagTimes = append(a.TagTimes, tt)
	}
	return rows.Err()
}

// ListReferrers lists the manifests of repo whose subject is d (signatures,
// SBOMs, attestations: OCI referrers), newest first, with tags.
func (rg *Registry) ListReferrers(ctx context.Context, repo string, d digest.Digest, page core.Page) ([]Artifact, int, error) {
	var total int
	if err := rg.db.QueryRow(ctx, `SELECT COUNT(*) FROM registry_repo_manifests rm JOIN registry_manifests m ON m.digest = rm.digest
		WHERE rm.repo = ? AND m.subject = ?`, repo, d.String()).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := rg.artifacts(ctx, `rm.repo = ? AND m.subject = ?`, []any{repo, d.String()}, page)
	return out, total, err
}
