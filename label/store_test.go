package label_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/sqldb"
)

// clock is a fixed time source.
func clock() func() time.Time {
	t := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return func() time.Time { return t }
}

func newStore(t *testing.T, db *sqldb.DB) *label.Store {
	t.Helper()
	s, err := label.New(t.Context(), db, label.WithClock(clock()))
	require.NoError(t, err)
	return s
}

func dgst(n int) digest.Digest { return digest.FromString(fmt.Sprint("manifest ", n)) }

func art(projectID int64, repo string, n int) label.Artifact {
	return label.Artifact{ProjectID: projectID, Repository: repo, Digest: dgst(n)}
}

func names(ls []label.Label) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func TestCreateChecksScopesAndNames(t *testing.T) { onEngines(t, testCreateChecksScopesAndNames) }

func testCreateChecksScopesAndNames(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	_, err := s.Create(ctx, label.Label{Name: "prod", Scope: label.ScopeGlobal, Color: "#1D5100"})
	require.NoError(t, err)
	_, err = s.Create(ctx, label.Label{Name: "prod", Scope: label.ScopeProject, ProjectID: 7})
	require.NoError(t, err)

	tests := []struct {
		name string
		l    label.Label
		kind error
	}{
		{"global", label.Label{Name: "qa", Scope: label.ScopeGlobal}, nil},
		{"project", label.Label{Name: "qa", Scope: label.ScopeProject, ProjectID: 7}, nil},
		{"same name in another project", label.Label{Name: "prod", Scope: label.ScopeProject, ProjectID: 8}, nil},
		{"lower-case color", label.Label{Name: "c", Scope: label.ScopeGlobal, Color: "#a0b1c2"}, nil},
		{"global name taken", label.Label{Name: "prod", Scope: label.ScopeGlobal}, core.ErrExists},
		{"project name taken", label.Label{Name: " prod ", Scope: label.ScopeProject, ProjectID: 7}, core.ErrExists},
		{"no name", label.Label{Name: "  ", Scope: label.ScopeGlobal}, core.ErrInvalid},
		{"long name", label.Label{Name: string(make([]byte, 129)), Scope: label.ScopeGlobal}, core.ErrInvalid},
		{"control character", label.Label{Name: "a\nb", Scope: label.ScopeGlobal}, core.ErrInvalid},
		{"no scope", label.Label{Name: "x"}, core.ErrInvalid},
		{"unknown scope", label.Label{Name: "x", Scope: "s"}, core.ErrInvalid},
		{"project label without project", label.Label{Name: "x", Scope: label.ScopeProject}, core.ErrInvalid},
		{"global label with project", label.Label{Name: "x", Scope: label.ScopeGlobal, ProjectID: 7}, core.ErrInvalid},
		{"color name", label.Label{Name: "x", Scope: label.ScopeGlobal, Color: "red"}, core.ErrInvalid},
		{"short color", label.Label{Name: "x", Scope: label.ScopeGlobal, Color: "#fff"}, core.ErrInvalid},
		{"color not hex", label.Label{Name: "x", Scope: label.ScopeGlobal, Color: "#12345G"}, core.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := s.Create(ctx, tt.l)
			if tt.kind != nil {
				require.ErrorIs(t, err, tt.kind)
				return
			}
			require.NoError(t, err)
			assert.Positive(t, l.ID)
			assert.Equal(t, clock()(), l.CreatedAt)
			got, err := s.Get(ctx, l.ID)
			require.NoError(t, err)
			assert.Equal(t, l, got)
		})
	}
}

func TestIDsAreNeverReused(t *testing.T) { onEngines(t, testIDsAreNeverReused) }

func testIDsAreNeverReused(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	a, err := s.Create(t.Context(), label.Label{Name: "a", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	require.NoError(t, s.Delete(t.Context(), a.ID))
	b, err := s.Create(t.Context(), label.Label{Name: "a", Scope: label.ScopeGlobal})
	require.NoError(t, err, "the name is free again")
	assert.Greater(t, b.ID, a.ID)
	_, err = s.Get(t.Context(), a.ID)
	assert.ErrorIs(t, err, core.ErrNotFound)
}

func TestUpdate(t *testing.T) { onEngines(t, testUpdate) }

func testUpdate(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	l, err := s.Create(ctx, label.Label{Name: "a", Scope: label.ScopeProject, ProjectID: 7})
	require.NoError(t, err)
	_, err = s.Create(ctx, label.Label{Name: "b", Scope: label.ScopeProject, ProjectID: 7})
	require.NoError(t, err)
	_, err = s.Create(ctx, label.Label{Name: "c", Scope: label.ScopeGlobal})
	require.NoError(t, err)

	tests := []struct {
		name string
		fn   func(*label.Label)
		kind error
		want func(*testing.T, label.Label)
	}{
		{"rename and recolor", func(l *label.Label) { l.Name, l.Color, l.Description = "a2", "#000000", "d" }, nil,
			func(t *testing.T, got label.Label) {
				assert.Equal(t, "a2", got.Name)
				assert.Equal(t, "#000000", got.Color)
				assert.Equal(t, "d", got.Description)
			}},
		{"scope and project are kept", func(l *label.Label) { l.Scope, l.ProjectID = label.ScopeGlobal, 0 }, nil,
			func(t *testing.T, got label.Label) {
				assert.Equal(t, label.ScopeProject, got.Scope)
				assert.EqualValues(t, 7, got.ProjectID)
			}},
		{"name of the same project taken", func(l *label.Label) { l.Name = "b" }, core.ErrExists, nil},
		{"name of a global label is free", func(l *label.Label) { l.Name = "c" }, nil, nil},
		{"bad color", func(l *label.Label) { l.Color = "#12" }, core.ErrInvalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Update(ctx, l.ID, func(l *label.Label) error { tt.fn(l); return nil })
			if tt.kind != nil {
				require.ErrorIs(t, err, tt.kind)
				return
			}
			require.NoError(t, err)
			stored, err := s.Get(ctx, l.ID)
			require.NoError(t, err)
			assert.Equal(t, got, stored)
			if tt.want != nil {
				tt.want(t, got)
			}
		})
	}
	_, err = s.Update(ctx, 999, func(*label.Label) error { return nil })
	assert.ErrorIs(t, err, core.ErrNotFound)
}

func TestListFiltersAndPages(t *testing.T) { onEngines(t, testListFiltersAndPages) }

func testListFiltersAndPages(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	for i := range 5 {
		_, err := s.Create(ctx, label.Label{Name: fmt.Sprintf("global-%d", i), Scope: label.ScopeGlobal})
		require.NoError(t, err)
	}
	for _, n := range []string{"Release", "release-candidate", "dev_1", "dev%"} {
		_, err := s.Create(ctx, label.Label{Name: n, Scope: label.ScopeProject, ProjectID: 7})
		require.NoError(t, err)
	}
	_, err := s.Create(ctx, label.Label{Name: "release", Scope: label.ScopeProject, ProjectID: 8})
	require.NoError(t, err)

	tests := []struct {
		name  string
		f     label.Filter
		page  core.Page
		want  []string
		total int
	}{
		{"global", label.Filter{Scope: label.ScopeGlobal}, core.Page{},
			[]string{"global-0", "global-1", "global-2", "global-3", "global-4"}, 5},
		{"global page 2", label.Filter{Scope: label.ScopeGlobal}, core.Page{Offset: 2, Limit: 2},
			[]string{"global-2", "global-3"}, 5},
		{"past the end", label.Filter{Scope: label.ScopeGlobal}, core.Page{Offset: 10, Limit: 2}, []string{}, 5},
		{"project", label.Filter{Scope: label.ScopeProject, ProjectID: 7}, core.Page{},
			[]string{"Release", "release-candidate", "dev_1", "dev%"}, 4},
		{"exact name", label.Filter{Scope: label.ScopeProject, ProjectID: 7, Name: "Release"}, core.Page{},
			[]string{"Release"}, 1},
		{"name contains, any case", label.Filter{Scope: label.ScopeProject, ProjectID: 7, NameContains: "rele"},
			core.Page{}, []string{"Release", "release-candidate"}, 2},
		{"wildcards are literal", label.Filter{Scope: label.ScopeProject, ProjectID: 7, NameContains: "_"},
			core.Page{}, []string{"dev_1"}, 1},
		{"percent is literal", label.Filter{Scope: label.ScopeProject, ProjectID: 7, NameContains: "%"},
			core.Page{}, []string{"dev%"}, 1},
		{"another project", label.Filter{Scope: label.ScopeProject, ProjectID: 8}, core.Page{}, []string{"release"}, 1},
		{"every label", label.Filter{}, core.Page{Limit: 3}, []string{"global-0", "global-1", "global-2"}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, total, err := s.List(ctx, tt.f, tt.page)
			require.NoError(t, err)
			assert.Equal(t, tt.want, names(ls))
			assert.Equal(t, tt.total, total)
		})
	}
}

func TestAttach(t *testing.T) { onEngines(t, testAttach) }

func testAttach(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	global, err := s.Create(ctx, label.Label{Name: "g", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	own, err := s.Create(ctx, label.Label{Name: "p", Scope: label.ScopeProject, ProjectID: 7})
	require.NoError(t, err)
	other, err := s.Create(ctx, label.Label{Name: "q", Scope: label.ScopeProject, ProjectID: 8})
	require.NoError(t, err)

	tests := []struct {
		name  string
		a     label.Artifact
		label int64
		kind  error
	}{
		{"global label", art(7, "shop/api", 1), global.ID, nil},
		{"global label in another project", art(8, "tools/ci", 1), global.ID, nil},
		{"own project's label", art(7, "shop/api", 1), own.ID, nil},
		{"again", art(7, "shop/api", 1), own.ID, core.ErrExists},
		{"another project's label", art(7, "shop/api", 1), other.ID, core.ErrInvalid},
		{"project label outside its project", art(8, "tools/ci", 1), own.ID, core.ErrInvalid},
		{"unknown label", art(7, "shop/api", 1), 999, core.ErrNotFound},
		{"no project", art(0, "shop/api", 1), global.ID, core.ErrInvalid},
		{"no repository", art(7, "", 1), global.ID, core.ErrInvalid},
		{"bad digest", label.Artifact{ProjectID: 7, Repository: "shop/api", Digest: "sha256:nope"}, global.ID, core.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Attach(ctx, tt.a, tt.label)
			if tt.kind != nil {
				require.ErrorIs(t, err, tt.kind)
				return
			}
			require.NoError(t, err)
		})
	}
	ls, err := s.LabelsOf(ctx, 7, "shop/api", dgst(1))
	require.NoError(t, err)
	assert.Equal(t, []string{"g", "p"}, names(ls))
	ls, err = s.LabelsOf(ctx, 8, "tools/ci", dgst(1))
	require.NoError(t, err)
	assert.Equal(t, []string{"g"}, names(ls))
	ls, err = s.LabelsOf(ctx, 9, "shop/api", dgst(1))
	require.NoError(t, err)
	assert.Equal(t, []string{}, names(ls), "keyed by the project's id: a project of the same name later has none")

	require.NoError(t, s.Detach(ctx, art(7, "shop/api", 1), global.ID))
	assert.ErrorIs(t, s.Detach(ctx, art(7, "shop/api", 1), global.ID), core.ErrNotFound)
	ls, err = s.LabelsOf(ctx, 7, "shop/api", dgst(1))
	require.NoError(t, err)
	assert.Equal(t, []string{"p"}, names(ls))
}

func TestDeleteDetachesEverywhere(t *testing.T) { onEngines(t, testDeleteDetachesEverywhere) }

func testDeleteDetachesEverywhere(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	doomed, err := s.Create(ctx, label.Label{Name: "doomed", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	kept, err := s.Create(ctx, label.Label{Name: "kept", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	for i, a := range []label.Artifact{art(7, "shop/api", 1), art(7, "shop/web", 2), art(8, "tools/ci", 3)} {
		require.NoError(t, s.Attach(ctx, a, doomed.ID), i)
		require.NoError(t, s.Attach(ctx, a, kept.ID), i)
	}
	require.NoError(t, s.Delete(ctx, doomed.ID))
	assert.ErrorIs(t, s.Delete(ctx, doomed.ID), core.ErrNotFound)

	arts, total, err := s.ArtifactsWithLabel(ctx, doomed.ID, 0, core.Page{})
	require.NoError(t, err)
	assert.Empty(t, arts)
	assert.Zero(t, total)
	ls, err := s.LabelsOf(ctx, 8, "tools/ci", dgst(3))
	require.NoError(t, err)
	assert.Equal(t, []string{"kept"}, names(ls))
	_, total, err = s.ArtifactsWithLabel(ctx, kept.ID, 0, core.Page{})
	require.NoError(t, err)
	assert.Equal(t, 3, total)
}

func TestArtifactsWithLabel(t *testing.T) { onEngines(t, testArtifactsWithLabel) }

func testArtifactsWithLabel(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	g, err := s.Create(ctx, label.Label{Name: "g", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	all := []label.Artifact{art(7, "shop/api", 1), art(7, "shop/api", 2), art(7, "shop/web", 1), art(8, "tools/ci", 4)}
	for _, a := range all {
		require.NoError(t, s.Attach(ctx, a, g.ID))
	}
	tests := []struct {
		name    string
		project int64
		page    core.Page
		want    []label.Artifact
		total   int
	}{
		{"every project", 0, core.Page{}, sortArts(all), 4},
		{"one project", 8, core.Page{}, []label.Artifact{art(8, "tools/ci", 4)}, 1},
		{"paged", 7, core.Page{Offset: 1, Limit: 1}, sortArts(all[:3])[1:2], 3},
		{"past the end", 7, core.Page{Offset: 3, Limit: 1}, []label.Artifact{}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.ArtifactsWithLabel(ctx, g.ID, tt.project, tt.page)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.total, total)
		})
	}
}

// sortArts orders artifacts as ArtifactsWithLabel does.
func sortArts(as []label.Artifact) []label.Artifact {
	out := append([]label.Artifact(nil), as...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			a, b := out[i], out[j]
			if b.ProjectID < a.ProjectID || b.ProjectID == a.ProjectID && (b.Repository < a.Repository ||
				b.Repository == a.Repository && b.Digest < a.Digest) {
				out[i], out[j] = b, a
			}
		}
	}
	return out
}

func TestLabelsOfMany(t *testing.T) { onEngines(t, testLabelsOfMany) }

func testLabelsOfMany(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	g, err := s.Create(ctx, label.Label{Name: "g", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	p, err := s.Create(ctx, label.Label{Name: "p", Scope: label.ScopeProject, ProjectID: 7})
	require.NoError(t, err)
	var ds []digest.Digest
	for i := range 450 { // more than one query's worth
		ds = append(ds, dgst(i))
		if i%2 == 0 {
			require.NoError(t, s.Attach(ctx, art(7, "shop/api", i), g.ID))
		}
		if i%3 == 0 {
			require.NoError(t, s.Attach(ctx, art(7, "shop/api", i), p.ID))
		}
	}
	got, err := s.LabelsOfMany(ctx, 7, "shop/api", ds)
	require.NoError(t, err)
	for i, d := range ds {
		want := []string{}
		if i%2 == 0 {
			want = append(want, "g")
		}
		if i%3 == 0 {
			want = append(want, "p")
		}
		assert.Equal(t, want, names(got[d]), "artifact %d", i)
	}
	none, err := s.LabelsOfMany(ctx, 8, "shop/api", ds)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestForgetProject(t *testing.T) { onEngines(t, testForgetProject) }

func testForgetProject(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	g, err := s.Create(ctx, label.Label{Name: "g", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	mine, err := s.Create(ctx, label.Label{Name: "p", Scope: label.ScopeProject, ProjectID: 7})
	require.NoError(t, err)
	theirs, err := s.Create(ctx, label.Label{Name: "p", Scope: label.ScopeProject, ProjectID: 8})
	require.NoError(t, err)
	require.NoError(t, s.Attach(ctx, art(7, "shop/api", 1), g.ID))
	require.NoError(t, s.Attach(ctx, art(7, "shop/api", 1), mine.ID))
	require.NoError(t, s.Attach(ctx, art(8, "tools/ci", 1), g.ID))
	require.NoError(t, s.Attach(ctx, art(8, "tools/ci", 1), theirs.ID))

	require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error { return s.ForgetProject(ctx, tx, 7) }))

	_, err = s.Get(ctx, mine.ID)
	assert.ErrorIs(t, err, core.ErrNotFound)
	_, total, err := s.List(ctx, label.Filter{Scope: label.ScopeProject, ProjectID: 7}, core.Page{})
	require.NoError(t, err)
	assert.Zero(t, total)
	arts, _, err := s.ArtifactsWithLabel(ctx, g.ID, 0, core.Page{})
	require.NoError(t, err)
	assert.Equal(t, []label.Artifact{art(8, "tools/ci", 1)}, arts, "the global label stays, off the project's artifacts")
	ls, err := s.LabelsOf(ctx, 8, "tools/ci", dgst(1))
	require.NoError(t, err)
	assert.Equal(t, []string{"g", "p"}, names(ls), "another project is untouched")

	// The name is free for a new project with another id.
	_, err = s.Create(ctx, label.Label{Name: "p", Scope: label.ScopeProject, ProjectID: 9})
	require.NoError(t, err)

	// In the deleting transaction: a refused deletion keeps everything.
	boom := fmt.Errorf("refused")
	err = db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := s.ForgetProject(ctx, tx, 8); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = s.Get(ctx, theirs.ID)
	require.NoError(t, err)

	err = db.Write(ctx, func(tx *sqldb.Tx) error { return s.ForgetProject(ctx, tx, 0) })
	assert.ErrorIs(t, err, core.ErrInvalid)
}

func TestForgetArtifactsAndTheSink(t *testing.T) { onEngines(t, testForgetArtifactsAndTheSink) }

func testForgetArtifactsAndTheSink(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	g, err := s.Create(ctx, label.Label{Name: "g", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	for _, a := range []label.Artifact{art(7, "shop/api", 1), art(7, "shop/api", 2), art(7, "shop/web", 1),
		art(7, "shop/web", 2), art(7, "shop/db", 1)} {
		require.NoError(t, s.Attach(ctx, a, g.ID))
	}
	carrying := func() []label.Artifact {
		arts, _, err := s.ArtifactsWithLabel(ctx, g.ID, 0, core.Page{})
		require.NoError(t, err)
		return arts
	}
	require.NoError(t, s.ForgetArtifact(ctx, "shop/api", dgst(1)))
	require.NoError(t, s.ForgetArtifact(ctx, "shop/api", dgst(1)), "nothing left to forget")
	require.NoError(t, s.ForgetRepository(ctx, "shop/web"))
	assert.Equal(t, []label.Artifact{art(7, "shop/api", 2), art(7, "shop/db", 1)}, carrying())

	sink := s.Sink(nil)
	for _, e := range []core.Event{
		{Action: core.EventPull, Target: core.TargetManifest, Repository: "shop/api", Digest: dgst(2)},
		{Action: core.EventDelete, Target: core.TargetTag, Repository: "shop/api", Digest: dgst(2), Tag: "v1"},
		{Action: core.EventDelete, Target: core.TargetManifest, Repository: "shop/api", Digest: dgst(2), Refused: "denied"},
		{Action: core.EventDelete, Target: core.TargetBlob, Repository: "shop/api", Digest: dgst(2)},
	} {
		sink.Emit(ctx, e)
	}
	assert.Len(t, carrying(), 2, "pulls, tag deletions, refusals and blobs leave labels")
	cctx, cancel := context.WithCancel(ctx)
	cancel() // the request may be over: the sink still forgets
	sink.Emit(cctx, core.Event{Action: core.EventDelete, Target: core.TargetManifest, Repository: "shop/api", Digest: dgst(2)})
	assert.Equal(t, []label.Artifact{art(7, "shop/db", 1)}, carrying())
}

// NameContains folds the case of ASCII letters only, as SQLite's LIKE
// does, on every engine.
func TestNameContainsFoldsASCIIOnly(t *testing.T) { onEngines(t, testNameContainsFoldsASCIIOnly) }

func testNameContainsFoldsASCIIOnly(t *testing.T, db *sqldb.DB) {
	s := newStore(t, db)
	ctx := t.Context()
	for _, n := range []string{"ÉTÉ-Release", "été-release", "Straße"} {
		_, err := s.Create(ctx, label.Label{Name: n, Scope: label.ScopeGlobal})
		require.NoError(t, err)
	}
	for contains, want := range map[string][]string{
		"RELEASE": {"ÉTÉ-Release", "été-release"},
		"été":     {"été-release"},
		"ÉTÉ":     {"ÉTÉ-Release"},
		"STRASSE": {},
		"straß":   {"Straße"},
	} {
		ls, _, err := s.List(ctx, label.Filter{NameContains: contains}, core.Page{})
		require.NoError(t, err)
		assert.Equal(t, want, names(ls), "name contains %q", contains)
	}
}

// On PostgreSQL, where writers run side by side: updates of one label
// changing different fields keep each other's change, and attachments
// racing the label's deletion do not outlive it.
func TestConcurrentWritesOnPostgres(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, openDB(t, "postgres"))
	const n = 8
	t.Run("updates", func(t *testing.T) {
		l, err := s.Create(ctx, label.Label{Name: "l", Scope: label.ScopeGlobal})
		require.NoError(t, err)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := s.Update(ctx, l.ID, func(l *label.Label) error {
					l.Description += fmt.Sprint(i) // each appends its own digit
					return nil
				})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		got, err := s.Get(ctx, l.ID)
		require.NoError(t, err)
		assert.Len(t, got.Description, n, "no update lost: %q", got.Description)
	})
	t.Run("attach during delete", func(t *testing.T) {
		for round := range 5 {
			l, err := s.Create(ctx, label.Label{Name: fmt.Sprint("doomed-", round), Scope: label.ScopeGlobal})
			require.NoError(t, err)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					err := s.Attach(ctx, art(7, "shop/api", round*n+i), l.ID)
					if err != nil {
						assert.ErrorIs(t, err, core.ErrNotFound)
					}
				})
			}
			wg.Go(func() { assert.NoError(t, s.Delete(ctx, l.ID)) })
			wg.Wait()
			_, total, err := s.ArtifactsWithLabel(ctx, l.ID, 0, core.Page{})
			require.NoError(t, err)
			require.Zero(t, total, "round %d: attachments of a deleted label", round)
		}
	})
}
