package chart

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"
)

// IndexFile has the YAML shape of Helm's repo.IndexFile (index.yaml).
type IndexFile struct {
	APIVersion string                `json:"apiVersion"`
	Entries    map[string][]*Version `json:"entries"`
	Generated  time.Time             `json:"generated"`
}

// Index renders project's index.yaml from SQL alone. The rendered bytes
// are cached per project and reused until the project's generation (bumped
// on every upload and delete, in any process sharing the database) moves.
// The cache is exact also on a shared database (PostgreSQL, several
// processes): every call reads the generation first (one key lookup), an
// index is rendered from rows read after it, and a project's generation
// never returns to an earlier value (ForgetProject leaves a tombstone), so
// cached bytes are served only while no change has been committed since.
func (r *Repo) Index(ctx context.Context, project string) ([]byte, error) {
	body, _, err := r.index(ctx, project)
	return body, err
}

// index returns the rendered index and the generation it reflects.
func (r *Repo) index(ctx context.Context, project string) ([]byte, int64, error) {
	id, err := r.readID(ctx, project)
	if err != nil {
		return nil, 0, err
	}
	gen, err := r.generation(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	r.mu.Lock()
	c, ok := r.cache[id]
	r.mu.Unlock()
	if ok && c.generation == gen {
		return c.body, gen, nil
	}
	body, err := r.renderIndex(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	r.mu.Lock()
	if cur, ok := r.cache[id]; !ok || cur.generation <= gen {
		r.cache[id] = cachedIndex{generation: gen, body: body}
	}
	r.mu.Unlock()
	return body, gen, nil
}

func (r *Repo) generation(ctx context.Context, id int64) (int64, error) {
	var gen int64
	err := r.db.QueryRow(ctx, `SELECT generation FROM chart_generations WHERE project_id = ?`, id).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return gen, err
}

func (r *Repo) renderIndex(ctx context.Context, id int64) ([]byte, error) {
	entries, err := r.list(ctx, id)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(IndexFile{APIVersion: "v1", Entries: entries, Generated: r.now().UTC()})
}

// groupVersions groups versions by chart name, newest version first.
func groupVersions(vs []*Version) map[string][]*Version {
	out := map[string][]*Version{}
	for _, v := range vs {
		out[v.Name] = append(out[v.Name], v)
	}
	for _, list := range out {
		sortVersions(list)
	}
	return out
}

// sortVersions sorts by semantic version, newest first; versions that do
// not parse (none are accepted on upload) sort last, by string.
func sortVersions(vs []*Version) {
	parsed := make(map[*Version]*semver.Version, len(vs))
	for _, v := range vs {
		if sv, err := semver.NewVersion(v.Version); err == nil {
			parsed[v] = sv
		}
	}
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := parsed[vs[i]], parsed[vs[j]]
		switch {
		case a != nil && b != nil:
			if c := a.Compare(b); c != 0 {
				return c > 0
			}
			return vs[i].Created.After(vs[j].Created)
		case a != nil:
			return true
		case b != nil:
			return false
		}
		return vs[i].Version > vs[j].Version
	})
}
