package chart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
	"github.com/opencontainers/go-digest"
	helmchart "helm.sh/helm/v3/pkg/chart"
)

// Version is one stored chart version: its Chart.yaml metadata plus what
// the repository knows about the archive. It marshals (as JSON and, through
// sigs.k8s.io/yaml, YAML) with the shape of an index.yaml entry.
type Version struct {
	*helmchart.Metadata
	URLs    []string  `json:"urls"`
	Created time.Time `json:"created"`
	Removed bool      `json:"removed,omitempty"`
	Digest  string    `json:"digest"`
	// Size and ProvDigest are not part of Helm's index format.
	Size       int64  `json:"-"`
	ProvDigest string `json:"-"`
}

// archiveFile is the file name under which a version's archive is served.
func archiveFile(name, version string) string { return name + "-" + version + ".tgz" }

// Upload validates a chart archive and stores it (and, when prov is not
// nil, its provenance file) in project. An existing version is refused
// with ErrExists unless force is set. Nothing is recorded when validation
// fails.
func (r *Repo) Upload(ctx context.Context, project string, archive io.Reader, prov io.Reader, force bool) (*Version, error) {
	id, ok, err := r.projectID(ctx, project, true)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoProject, project)
	}
	data, err := readLimited(archive, r.maxSize, "chart archive")
	if err != nil {
		return nil, err
	}
	md, err := load(data)
	if err != nil {
		return nil, err
	}
	var provData []byte
	if prov != nil {
		if provData, err = readLimited(prov, maxProvSize, "provenance file"); err != nil {
			return nil, err
		}
		if len(provData) == 0 {
			provData = nil
		}
	}
	if provData != nil && r.keyring != "" {
		if err := verifyProvenance(r.keyring, archiveFile(md.Name, md.Version), data, provData); err != nil {
			return nil, err
		}
	}
	if !force {
		// Refuse early, before writing blobs; checked again in the transaction.
		if _, err := r.Get(ctx, project, md.Name, md.Version); err == nil {
			return nil, fmt.Errorf("%w: %s %s", ErrExists, md.Name, md.Version)
		}
	}
	dgst, provDgst := sha256Digest(data), digest.Digest("")
	if provData != nil {
		provDgst = sha256Digest(provData)
	}
	// Stored and recorded under the garbage collector's locks, so it
	// cannot remove the bytes in between.
	defer r.lockBlobs(dgst, provDgst)()
	if err := r.putBlob(ctx, dgst, data); err != nil {
		return nil, err
	}
	if provData != nil {
		if err := r.putBlob(ctx, provDgst, provData); err != nil {
			return nil, err
		}
	}
	v := &Version{
		Metadata:   md,
		URLs:       []string{"charts/" + archiveFile(md.Name, md.Version)},
		Created:    r.now().UTC(),
		Digest:     dgst.Encoded(),
		Size:       int64(len(data)),
		ProvDigest: string(provDgst),
	}
	var replaced bool
	var oldDgst, oldProv string
	err = r.db.Write(ctx, func(tx *sqldb.Tx) error {
		replaced, oldDgst, oldProv = false, "", ""
		// The generation row first: it serialises the project's writers,
		// so the version read next cannot be stored by another upload
		// before this one's insert (two uploads of a new version would
		// both succeed, the second replacing the first unforced).
		if err := lockProject(ctx, tx, project, id); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT digest, prov_digest FROM chart_versions WHERE project_id = ? AND name = ? AND version = ?`,
			id, md.Name, md.Version).Scan(&oldDgst, &oldProv)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		replaced = err == nil
		if replaced && !force {
			return fmt.Errorf("%w: %s %s", ErrExists, md.Name, md.Version)
		}
		return insertVersion(ctx, tx, id, v)
	})
	if err != nil {
		return nil, err
	}
	if replaced {
		r.release(ctx, digest.NewDigestFromEncoded(digest.SHA256, oldDgst), digest.Digest(oldProv))
	}
	r.notify(ctx, Event{Action: EventUpload, Project: project, Name: md.Name, Version: md.Version, Digest: string(dgst), Forced: replaced})
	return v, nil
}

func sha256Digest(b []byte) digest.Digest {
	sum := sha256.Sum256(b)
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(sum[:]))
}

// putBlob stores b as dgst unless it is already stored.
func (r *Repo) putBlob(ctx context.Context, dgst digest.Digest, b []byte) error {
	if _, err := r.blobs.Stat(ctx, dgst); err == nil {
		return nil
	} else if !errors.Is(err, storage.ErrBlobUnknown) {
		return err
	}
	if _, err := storage.Put(ctx, r.blobs, dgst, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("store chart blob: %w", err)
	}
	return nil
}

func jsonText(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	if string(b) == "null" || string(b) == "[]" || string(b) == "{}" {
		return ""
	}
	return string(b)
}

func insertVersion(ctx context.Context, tx *sqldb.Tx, projectID int64, v *Version) error {
	md := v.Metadata
	deprecated := 0
	if md.Deprecated {
		deprecated = 1
	}
	_, err := tx.Exec(ctx, `INSERT INTO chart_versions (project_id, name, version, app_version, description, icon,
		keywords, home, sources, maintainers, api_version, type, kube_version, annotations, dependencies,
		deprecated, created, digest, size, prov_digest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (project_id, name, version) DO UPDATE SET
		app_version = excluded.app_version, description = excluded.description, icon = excluded.icon,
		keywords = excluded.keywords, home = excluded.home, sources = excluded.sources,
		maintainers = excluded.maintainers, api_version = excluded.api_version, type = excluded.type,
		kube_version = excluded.kube_version, annotations = excluded.annotations,
		dependencies = excluded.dependencies, deprecated = excluded.deprecated, created = excluded.created,
		digest = excluded.digest, size = excluded.size, prov_digest = excluded.prov_digest`,
		projectID, md.Name, md.Version, md.AppVersion, md.Description, md.Icon,
		jsonText(md.Keywords), md.Home, jsonText(md.Sources), jsonText(md.Maintainers), md.APIVersion, md.Type,
		md.KubeVersion, jsonText(md.Annotations), jsonText(md.Dependencies),
		deprecated, v.Created.UnixNano(), v.Digest, v.Size, v.ProvDigest)
	return err
}

// forgotten is the generation of a project ForgetProject removed: its
// row stays, so that the project's generation never returns to a value a
// cached index was rendered at, and so that a write racing the removal
// finds the project gone.
const forgotten = -1

// bumpGeneration moves the project's index generation on, inside tx,
// creating it at 1. It is the first write of every transaction that
// changes the project's versions: the row it locks (on PostgreSQL; on
// SQLite the transaction excludes every other writer) serialises them and
// the project's deletion (ProjectVersions, ForgetProject). live is false
// when the project was forgotten meanwhile.
func bumpGeneration(ctx context.Context, tx *sqldb.Tx, projectID int64) (live bool, err error) {
	var gen int64
	// The conflicting row is locked whether or not WHERE lets it change.
	err = tx.QueryRow(ctx, `INSERT INTO chart_generations (project_id, generation) VALUES (?, 1)
		ON CONFLICT (project_id) DO UPDATE SET generation = chart_generations.generation + 1
		WHERE chart_generations.generation >= 0
		RETURNING generation`, projectID).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// lockProject is bumpGeneration for a write to project: ErrNoProject when
// the project was deleted after the caller resolved its id.
func lockProject(ctx context.Context, tx *sqldb.Tx, project string, projectID int64) error {
	live, err := bumpGeneration(ctx, tx, projectID)
	if err == nil && !live {
		err = fmt.Errorf("%w: %q was deleted", ErrNoProject, project)
	}
	return err
}

const versionColumns = `name, version, app_version, description, icon, keywords, home, sources, maintainers,
	api_version, type, kube_version, annotations, dependencies, deprecated, created, digest, size, prov_digest`

func scanVersion(row interface{ Scan(...any) error }) (*Version, error) {
	md := &helmchart.Metadata{}
	v := &Version{Metadata: md}
	var keywords, sources, maintainers, annotations, deps string
	var deprecated int
	var created int64
	if err := row.Scan(&md.Name, &md.Version, &md.AppVersion, &md.Description, &md.Icon, &keywords, &md.Home,
		&sources, &maintainers, &md.APIVersion, &md.Type, &md.KubeVersion, &annotations, &deps, &deprecated,
		&created, &v.Digest, &v.Size, &v.ProvDigest); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		s string
		p any
	}{{keywords, &md.Keywords}, {sources, &md.Sources}, {maintainers, &md.Maintainers},
		{annotations, &md.Annotations}, {deps, &md.Dependencies}} {
		if f.s != "" {
			if err := json.Unmarshal([]byte(f.s), f.p); err != nil {
				return nil, fmt.Errorf("chart %s %s: %w", md.Name, md.Version, err)
			}
		}
	}
	md.Deprecated = deprecated != 0
	v.Created = time.Unix(0, created).UTC()
	v.URLs = []string{"charts/" + archiveFile(md.Name, md.Version)}
	return v, nil
}

func (r *Repo) queryVersions(ctx context.Context, query string, args ...any) ([]*Version, error) {
	rows, err := r.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// List returns every chart version in project, grouped by chart name and
// sorted by semantic version, newest first.
func (r *Repo) List(ctx context.Context, project string) (map[string][]*Version, error) {
	id, err := r.readID(ctx, project)
	if err != nil {
		return nil, err
	}
	return r.list(ctx, id)
}

func (r *Repo) list(ctx context.Context, projectID int64) (map[string][]*Version, error) {
	// Key order, as SQLite's primary key returns them, so that versions
	// that sort as equal keep one order on both engines.
	vs, err := r.queryVersions(ctx, `SELECT `+versionColumns+` FROM chart_versions WHERE project_id = ?
		ORDER BY name, version`, projectID)
	if err != nil {
		return nil, err
	}
	return groupVersions(vs), nil
}

// Versions returns the versions of one chart, newest first, or ErrNotFound.
func (r *Repo) Versions(ctx context.Context, project, name string) ([]*Version, error) {
	id, err := r.readID(ctx, project)
	if err != nil {
		return nil, err
	}
	vs, err := r.queryVersions(ctx, `SELECT `+versionColumns+` FROM chart_versions WHERE project_id = ? AND name = ?
		ORDER BY version`, id, name)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	sortVersions(vs)
	return vs, nil
}

// Get returns one chart version, or ErrNotFound.
func (r *Repo) Get(ctx context.Context, project, name, version string) (*Version, error) {
	id, err := r.readID(ctx, project)
	if err != nil {
		return nil, err
	}
	v, err := scanVersion(r.db.QueryRow(ctx, `SELECT `+versionColumns+` FROM chart_versions
		WHERE project_id = ? AND name = ? AND version = ?`, id, name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s %s", ErrNotFound, name, version)
	}
	return v, err
}

// Delete removes one chart version's record. Its blobs stay in the blob
// store until garbage collection finds nothing referencing them (see
// References): the same bytes may be an OCI chart's layer too.
func (r *Repo) Delete(ctx context.Context, project, name, version string) error {
	id, err := r.readID(ctx, project)
	if err != nil {
		return err
	}
	var dgst, prov string
	err = r.db.Write(ctx, func(tx *sqldb.Tx) error {
		// Generation first, as in Upload: one lock order for the project's writers.
		if err := lockProject(ctx, tx, project, id); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `DELETE FROM chart_versions WHERE project_id = ? AND name = ? AND version = ? RETURNING digest, prov_digest`,
			id, name, version).Scan(&dgst, &prov)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s %s", ErrNotFound, name, version)
		}
		return err
	})
	if err != nil {
		return err
	}
	r.release(ctx, digest.NewDigestFromEncoded(digest.SHA256, dgst), digest.Digest(prov))
	r.notify(ctx, Event{Action: EventDelete, Project: project, Name: name, Version: version, Digest: "sha256:" + dgst})
	return nil
}

// References calls fn with every blob digest a chart version holds
// (archives and provenance files), for garbage collection's root set;
// versions stored before charts were keyed by project id count too.
func (r *Repo) References(ctx context.Context, fn func(digest.Digest) error) error {
	rows, err := r.db.Query(ctx, `SELECT digest, prov_digest FROM chart_versions
		UNION ALL SELECT digest, prov_digest FROM chart_versions_legacy`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var d, p string
		if err := rows.Scan(&d, &p); err != nil {
			return err
		}
		if err := fn(digest.NewDigestFromEncoded(digest.SHA256, d)); err != nil {
			return err
		}
		if p != "" {
			if err := fn(digest.Digest(p)); err != nil {
				return err
			}
		}
	}
	return rows.Err()
}
