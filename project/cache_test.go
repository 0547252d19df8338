package project_test

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/sqldb"
)

func TestVisibilityCache(t *testing.T) {
	for _, size := range []int{project.DefaultCacheSize, 1, 0} {
		backends(t, func(t *testing.T, db *sqldb.DB) {
			ctx := t.Context()
			s := newStore(t, db, project.WithCacheSize(size))
			check := func(name string, wantExists, wantPublic bool) {
				t.Helper()
				for range 2 { // miss, then hit
					exists, public, err := s.Public(ctx, name)
					require.NoError(t, err)
					assert.Equal(t, wantExists, exists, name)
					assert.Equal(t, wantPublic, public, name)
					ok, err := s.Exists(ctx, name)
					require.NoError(t, err)
					assert.Equal(t, wantExists, ok, name)
				}
			}
			check("app", false, false) // cached as missing...
			_, err := s.Create(ctx, project.Project{Name: "app"})
			require.NoError(t, err)
			check("app", true, false) // ...until created
			check("other", false, false)
			_, err = s.Update(ctx, "app", func(p *project.Project) error { p.Public = true; return nil })
			require.NoError(t, err)
			check("app", true, true)
			_, err = s.Update(ctx, "app", func(p *project.Project) error { p.Metadata.AutoScan = true; return nil })
			require.NoError(t, err)
			p, err := s.Get(ctx, "app")
			require.NoError(t, err)
			assert.True(t, p.Metadata.AutoScan, "Get sees settings changes too")
			require.NoError(t, s.Delete(ctx, "app"))
			check("app", false, false)
			check("Invalid/Name", false, false)
		})
	}
}

// Readers hammer the cache while a writer bumps a version in the owner
// field and flips the visibility: under -race, and no read may return a
// version older than the last Update that had returned when the read began.
func TestVisibilityCacheConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		_, err := s.Create(ctx, project.Project{Name: "app", Owner: "0"})
		require.NoError(t, err)

		var committed atomic.Int64 // versions whose Update has returned
		var stop atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 4 {
			wg.Go(func() {
				for !stop.Load() {
					before := committed.Load()
					p, err := s.Get(ctx, "app")
					if err == nil {
						_, _, err = s.Public(ctx, "app")
					}
					after := committed.Load()
					if err != nil {
						errs <- err
						return
					}
					v, _ := strconv.ParseInt(p.Owner, 10, 64)
					if v < before || v > after+1 || p.Public != (v%2 == 1) {
						errs <- fmt.Errorf("read version %d (public %v) between commits %d and %d", v, p.Public, before, after)
						return
					}
				}
			})
		}
		for i := int64(1); i <= 100; i++ {
			_, err := s.Update(ctx, "app", func(p *project.Project) error {
				p.Owner, p.Public = strconv.FormatInt(i, 10), i%2 == 1
				return nil
			})
			require.NoError(t, err)
			committed.Store(i)
			_, public, err := s.Public(ctx, "app")
			require.NoError(t, err)
			require.Equal(t, i%2 == 1, public, "version %d seen right after it returned", i)
		}
		stop.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("stale read: %v", err)
		}
	})
}
