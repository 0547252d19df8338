package project_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/sqldb"
)

func TestCreateGet(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		created, err := s.Create(ctx, project.Project{Name: "library", Public: true, Owner: "alice"})
		require.NoError(t, err)
		assert.Equal(t, int64(1), created.ID)
		assert.Equal(t, epoch.Add(1e9), created.CreatedAt)
		assert.Equal(t, created.CreatedAt, created.UpdatedAt)
		assert.Equal(t, project.Unlimited, created.Metadata.StorageQuota, "zero quota means unlimited")

		got, err := s.Get(ctx, "library")
		require.NoError(t, err)
		assert.Equal(t, created, got)
		byID, err := s.GetByID(ctx, created.ID)
		require.NoError(t, err)
		assert.Equal(t, created, byID)

		_, err = s.Create(ctx, project.Project{Name: "library"})
		assert.ErrorIs(t, err, project.ErrExists)
		assert.EqualError(t, err, `project "library": already exists`)

		_, err = s.Get(ctx, "nope")
		assert.ErrorIs(t, err, project.ErrNotFound)
		_, err = s.Get(ctx, "Not/Valid")
		assert.ErrorIs(t, err, project.ErrNotFound)
		_, err = s.GetByID(ctx, 42)
		assert.ErrorIs(t, err, project.ErrNotFound)

		_, err = s.Create(ctx, project.Project{Name: "Library"})
		assert.ErrorIs(t, err, project.ErrInvalid)
	})
}

func TestIDsAreNeverReused(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(t, db)
		ctx := t.Context()
		a, err := s.Create(ctx, project.Project{Name: "a"})
		require.NoError(t, err)
		b, err := s.Create(ctx, project.Project{Name: "b"})
		require.NoError(t, err)
		require.NoError(t, s.Delete(ctx, "b"))
		_, err = s.Create(ctx, project.Project{Name: "a"}) // fails, must not burn or reuse an id
		require.ErrorIs(t, err, project.ErrExists)
		c, err := s.Create(ctx, project.Project{Name: "c"})
		require.NoError(t, err)
		assert.Equal(t, []int64{1, 2, 3}, []int64{a.ID, b.ID, c.ID})
	})
}

// Concurrent creations get distinct ids, and concurrent updates of one
// project each see the one before (with PostgreSQL, the row is locked
// between Update's read and its write): no change is lost.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		_, err := s.Create(ctx, project.Project{Name: "shared"})
		require.NoError(t, err)
		const n = 8
		ids := make(chan int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				p, err := s.Create(ctx, project.Project{Name: fmt.Sprintf("p%d", i)})
				assert.NoError(t, err)
				ids <- p.ID
				_, err = s.Update(ctx, "shared", func(p *project.Project) error {
					if p.Metadata.Extra == nil {
						p.Metadata.Extra = map[string]string{}
					}
					p.Metadata.Extra[fmt.Sprintf("k%d", i)] = "v"
					time.Sleep(5 * time.Millisecond) // between the read and the write
					return nil
				})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		close(ids)
		var got []int64
		for id := range ids {
			got = append(got, id)
		}
		assert.ElementsMatch(t, []int64{2, 3, 4, 5, 6, 7, 8, 9}, got)
		p, err := s.Get(ctx, "shared")
		require.NoError(t, err)
		assert.Len(t, p.Metadata.Extra, n, "every update kept")
	})
}

func TestMetadataRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	md := project.Metadata{
		AutoScan:             true,
		PreventVulnerable:    true,
		Severity:             "High",
		ContentTrust:         "cosign",
		ReuseSysCVEAllowlist: true,
		StorageQuota:         10 << 30,
		Extra:                map[string]string{"retention": "keep-10", "x.y/z": ""},
	}
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "berth.db"))
	require.NoError(t, err)
	s := newStore(t, db)
	created, err := s.Create(ctx, project.Project{Name: "team", Metadata: md})
	require.NoError(t, err)
	md.Extra["retention"] = "changed after create" // the store kept its own copy
	require.NoError(t, db.Close())

	// Reopen: migrations run again as a no-op, the settings survive.
	db, err = sqldb.OpenSQLite(ctx, filepath.Join(dir, "berth.db"))
	require.NoError(t, err)
	defer db.Close()
	s = newStore(t, db)
	got, err := s.Get(ctx, "team")
	require.NoError(t, err)
	assert.Equal(t, created, got)
	assert.Equal(t, project.Metadata{
		AutoScan: true, PreventVulnerable: true, Severity: "high", ContentTrust: "cosign",
		ReuseSysCVEAllowlist: true, StorageQuota: 10 << 30,
		Extra: map[string]string{"retention": "keep-10", "x.y/z": ""},
	}, got.Metadata)

	// Callers cannot change the cached copy through a returned map.
	got.Metadata.Extra["retention"] = "mutated"
	again, err := s.Get(ctx, "team")
	require.NoError(t, err)
	assert.Equal(t, "keep-10", again.Metadata.Extra["retention"])
}

func TestMetadataInvalid(t *testing.T) {
	big := map[string]string{}
	for i := range project.MaxExtraKeys + 1 {
		big[string(rune('a'+i%26))+string(rune('0'+i/26))+"k"] = ""
	}
	tests := []struct {
		name string
		md   project.Metadata
		want string
	}{
		{"severity", project.Metadata{Severity: "severe"}, `severity "severe"`},
		{"quota", project.Metadata{StorageQuota: -2}, "storage quota -2"},
		{"extra key empty", project.Metadata{Extra: map[string]string{"": "x"}}, `extra setting name ""`},
		{"extra key control", project.Metadata{Extra: map[string]string{"a\nb": "x"}}, "extra setting name"},
		{"extra value size", project.Metadata{Extra: map[string]string{"k": string(make([]byte, project.MaxExtraValueSize+1))}}, "4097 bytes"},
		{"extra count", project.Metadata{Extra: big}, "257 extra settings"},
		{"registry id", project.Metadata{RegistryID: -1}, "registry id -1"},
		{"proxy speed", project.Metadata{RegistryID: 1, ProxySpeedKB: -2}, "proxy speed -2"},
		{"proxy speed without registry", project.Metadata{ProxySpeedKB: 100}, "proxy cache projects"},
	}
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	defer db.Close()
	s := newStore(t, db)
	_, err = s.Create(t.Context(), project.Project{Name: "ok"})
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Create(t.Context(), project.Project{Name: "p", Metadata: tt.md})
			assert.ErrorIs(t, err, project.ErrInvalid)
			assert.ErrorContains(t, err, tt.want)
			_, err = s.Update(t.Context(), "ok", func(p *project.Project) error { p.Metadata = tt.md; return nil })
			assert.ErrorIs(t, err, project.ErrInvalid)
		})
	}
	ok, err := s.Exists(t.Context(), "p")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestUpdate(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		created, err := s.Create(ctx, project.Project{Name: "app", Metadata: project.Metadata{Extra: map[string]string{"a": "1"}}})
		require.NoError(t, err)

		updated, err := s.Update(ctx, "app", func(p *project.Project) error {
			p.Public = true
			p.Owner = "bob"
			p.Metadata.AutoScan = true
			p.Metadata.Severity = "critical"
			p.Metadata.Extra["b"] = "2"
			return nil
		})
		require.NoError(t, err)
		assert.True(t, updated.Public)
		assert.True(t, updated.UpdatedAt.After(created.UpdatedAt))
		assert.Equal(t, created.CreatedAt, updated.CreatedAt)
		got, err := s.Get(ctx, "app")
		require.NoError(t, err)
		assert.Equal(t, updated, got)
		assert.Equal(t, map[string]string{"a": "1", "b": "2"}, got.Metadata.Extra)

		tests := []struct {
			name string
			fn   func(p *project.Project) error
			want error
		}{
			{"rename", func(p *project.Project) error { p.Name = "other"; return nil }, project.ErrInvalid},
			{"new id", func(p *project.Project) error { p.ID = 99; return nil }, project.ErrInvalid},
			{"new creation time", func(p *project.Project) error { p.CreatedAt = epoch; return nil }, project.ErrInvalid},
			{"abort", func(p *project.Project) error { p.Public = false; return errBoom }, errBoom},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.Update(ctx, "app", tt.fn)
				assert.ErrorIs(t, err, tt.want)
				after, err := s.Get(ctx, "app")
				require.NoError(t, err)
				assert.Equal(t, updated, after, "a refused update changes nothing")
			})
		}
		_, err = s.Update(ctx, "missing", func(*project.Project) error { return nil })
		assert.ErrorIs(t, err, project.ErrNotFound)
	})
}

var errBoom = errors.New("boom")

func TestDelete(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		repos := map[string]int{"full": 2}
		var countErr error
		s := newStore(t, db, project.WithRepositoryCounter(func(_ context.Context, p string) (int, error) {
			return repos[p], countErr
		}))
		for _, name := range []string{"full", "empty"} {
			_, err := s.Create(ctx, project.Project{Name: name},
				project.Member{Subject: "user:alice", Role: project.RoleProjectAdmin},
				project.Member{Subject: "group:devs", Role: project.RoleDeveloper, Repositories: name + "/app-*"})
			require.NoError(t, err)
		}

		err := s.Delete(ctx, "full")
		assert.ErrorIs(t, err, project.ErrNotEmpty)
		assert.EqualError(t, err, `project "full": not empty: it still holds 2 repositories; delete them first`)
		ok, err := s.Exists(ctx, "full")
		require.NoError(t, err)
		assert.True(t, ok)

		countErr = errBoom
		assert.ErrorIs(t, s.Delete(ctx, "empty"), errBoom)
		countErr = nil

		require.NoError(t, s.Delete(ctx, "empty"))
		ok, err = s.Exists(ctx, "empty")
		require.NoError(t, err)
		assert.False(t, ok)
		ms, err := s.MembershipsOf(ctx, []string{"user:alice", "group:devs"})
		require.NoError(t, err)
		require.Len(t, ms, 2, "the deleted project's members went with it")
		for _, m := range ms {
			assert.Equal(t, "full", m.Project)
		}
		// Re-creating the name starts with no members.
		_, err = s.Create(ctx, project.Project{Name: "empty"})
		require.NoError(t, err)
		members, total, err := s.ListMembers(ctx, "empty", project.MemberFilter{}, project.Page{})
		require.NoError(t, err)
		assert.Empty(t, members)
		assert.Zero(t, total)

		assert.ErrorIs(t, s.Delete(ctx, "missing"), project.ErrNotFound)
	})
}

// Cascades run inside the deleting transaction: a refusal keeps the
// project, its members and whatever an earlier cascade removed; success
// removes all of it together. A re-created name gets a new id.
func TestDeleteCascades(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `CREATE TABLE feature_rows (project_id BIGINT NOT NULL, v TEXT NOT NULL)`)
			return err
		}))
		p, err := s.Create(ctx, project.Project{Name: "app"}, project.Member{Subject: "user:alice", Role: project.RoleDeveloper})
		require.NoError(t, err)
		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO feature_rows (project_id, v) VALUES (?, 'x')`, p.ID)
			return err
		}))
		rows := func() int {
			var n int
			require.NoError(t, db.QueryRow(ctx, `SELECT COUNT(*) FROM feature_rows WHERE project_id = ?`, p.ID).Scan(&n))
			return n
		}
		var seen []project.Project
		s.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
			seen = append(seen, p)
			_, err := tx.Exec(ctx, `DELETE FROM feature_rows WHERE project_id = ?`, p.ID)
			return err
		})
		charts := 1
		s.OnDelete(func(_ context.Context, _ *sqldb.Tx, p project.Project) error {
			if charts > 0 {
				return fmt.Errorf("project %q: %w: it still holds %d charts", p.Name, project.ErrNotEmpty, charts)
			}
			return nil
		})

		err = s.Delete(ctx, "app")
		require.ErrorIs(t, err, project.ErrNotEmpty)
		assert.Contains(t, err.Error(), "still holds 1 charts")
		assert.Equal(t, 1, rows(), "the refusal rolled the first cascade back")
		_, total, err := s.ListMembers(ctx, "app", project.MemberFilter{}, project.Page{})
		require.NoError(t, err)
		assert.Equal(t, 1, total)

		charts = 0
		require.NoError(t, s.Delete(ctx, "app"))
		assert.Zero(t, rows())
		require.Len(t, seen, 2)
		assert.Equal(t, p.ID, seen[1].ID, "the cascade is told the project's id")

		again, err := s.Create(ctx, project.Project{Name: "app"})
		require.NoError(t, err)
		assert.Greater(t, again.ID, p.ID, "ids are never reused")
		id, ok, err := s.ProjectID(ctx, "app")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, again.ID, id)
		_, ok, err = s.ProjectID(ctx, "gone")
		require.NoError(t, err)
		assert.False(t, ok)
	})
}

// A project is a proxy cache from its creation or never: its registry id
// cannot change, while its proxy speed can.
func TestRegistryIDIsFixed(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(t, db)
		_, err := s.Create(t.Context(), project.Project{Name: "hub", Metadata: project.Metadata{RegistryID: 3}})
		require.NoError(t, err)
		_, err = s.Create(t.Context(), project.Project{Name: "plain"})
		require.NoError(t, err)
		for name, id := range map[string]int64{"hub": 4, "plain": 3} {
			_, err = s.Update(t.Context(), name, func(p *project.Project) error { p.Metadata.RegistryID = id; return nil })
			assert.ErrorIs(t, err, project.ErrInvalid, name)
		}
		p, err := s.Update(t.Context(), "hub", func(p *project.Project) error { p.Metadata.ProxySpeedKB = 512; return nil })
		require.NoError(t, err)
		assert.Equal(t, int64(3), p.Metadata.RegistryID)
		got, err := s.Get(t.Context(), "hub")
		require.NoError(t, err)
		assert.Equal(t, int64(512), got.Metadata.ProxySpeedKB)
	})
}
