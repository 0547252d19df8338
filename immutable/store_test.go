package immutable_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/tagselect"
)

func newRule(projectID int64, repoPattern, tagPattern string) immutable.ProjectRule {
	return immutable.ProjectRule{ProjectID: projectID, Rule: immutable.Rule{
		ScopeSelectors: []tagselect.Selector{{Kind: tagselect.Kind, Decoration: tagselect.RepoMatches, Pattern: repoPattern}},
		TagSelectors:   []tagselect.Selector{{Kind: tagselect.Kind, Decoration: tagselect.Matches, Pattern: tagPattern}},
	}}
}

func TestStoreKeepsRulesPerProject(t *testing.T) { onEngines(t, testStoreKeepsRulesPerProject) }

func testStoreKeepsRulesPerProject(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	s, err := immutable.NewStore(ctx, db)
	require.NoError(t, err)

	r1, err := s.Create(ctx, newRule(1, "**", "v*"))
	require.NoError(t, err)
	assert.NotZero(t, r1.ID)
	assert.Equal(t, int64(1), r1.ProjectID)
	assert.False(t, r1.CreatedAt.IsZero())
	r2, err := s.Create(ctx, newRule(1, "app/**", "release-*"))
	require.NoError(t, err)
	other, err := s.Create(ctx, newRule(2, "**", "**"))
	require.NoError(t, err)

	_, err = s.Create(ctx, newRule(1, "**", "v*"))
	assert.ErrorIs(t, err, core.ErrExists, "the same selectors twice")
	_, err = s.Create(ctx, immutable.ProjectRule{ProjectID: 1})
	assert.ErrorIs(t, err, core.ErrInvalid, "no selectors")
	_, err = s.Create(ctx, newRule(1, "**", "[v"))
	assert.ErrorIs(t, err, core.ErrInvalid, "a malformed pattern")
	_, err = s.Create(ctx, newRule(0, "**", "v*"))
	assert.ErrorIs(t, err, core.ErrInvalid, "no project")

	list, total, err := s.List(ctx, 1, core.Page{})
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	assert.Equal(t, []int64{r1.ID, r2.ID}, []int64{list[0].ID, list[1].ID})
	assert.Equal(t, "v*", list[0].TagSelectors[0].Pattern)
	page, total, err := s.List(ctx, 1, core.Page{Offset: 1, Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	require.Len(t, page, 1)
	assert.Equal(t, r2.ID, page[0].ID)

	_, err = s.Get(ctx, 1, other.ID)
	assert.ErrorIs(t, err, core.ErrNotFound, "a rule of another project")
	got, err := s.Get(ctx, 2, other.ID)
	require.NoError(t, err)
	assert.Equal(t, "**", got.TagSelectors[0].Pattern)

	r2.Disabled, r2.Priority = true, 7
	r2.TagSelectors[0].Pattern = "rc-*"
	up, err := s.Update(ctx, r2)
	require.NoError(t, err)
	assert.True(t, up.Disabled)
	assert.Equal(t, 7, up.Priority)
	assert.Equal(t, "rc-*", up.TagSelectors[0].Pattern)
	assert.Equal(t, r2.CreatedAt, up.CreatedAt)
	dup := r2
	dup.Rule = newRule(1, "**", "v*").Rule
	dup.ID = r2.ID
	_, err = s.Update(ctx, dup)
	assert.ErrorIs(t, err, core.ErrExists, "updated into a duplicate")
	moved := other
	moved.ProjectID = 1
	_, err = s.Update(ctx, moved)
	assert.ErrorIs(t, err, core.ErrNotFound, "updating another project's rule")

	rules, err := s.Rules(ctx, 1)
	require.NoError(t, err)
	require.Len(t, rules, 2)
	held, rule := immutable.Check(rules, "lib/app", "v1")
	assert.True(t, held)
	assert.Equal(t, r1.ID, rule.ID)
	held, _ = immutable.Check(rules, "lib/app/x", "rc-1")
	assert.False(t, held, "rule 2 is disabled")

	assert.ErrorIs(t, s.Delete(ctx, 1, other.ID), core.ErrNotFound)
	require.NoError(t, s.Delete(ctx, 1, r1.ID))
	rules, err = s.Rules(ctx, 1)
	require.NoError(t, err)
	assert.Len(t, rules, 1, "a local change is seen at once")
}

func TestStoreHoldsAtMostFifteenRules(t *testing.T) { onEngines(t, testStoreHoldsAtMostFifteenRules) }

func testStoreHoldsAtMostFifteenRules(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	s, err := immutable.NewStore(ctx, db)
	require.NoError(t, err)
	for i := range immutable.MaxRules {
		_, err := s.Create(ctx, newRule(5, "**", "v"+string(rune('a'+i))+"*"))
		require.NoError(t, err)
	}
	_, err = s.Create(ctx, newRule(5, "**", "last"))
	assert.ErrorIs(t, err, core.ErrInvalid)
	_, err = s.Create(ctx, newRule(6, "**", "last"))
	assert.NoError(t, err, "another project has room")
}

func TestForgetProject(t *testing.T) { onEngines(t, testForgetProject) }

func testForgetProject(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	s, err := immutable.NewStore(ctx, db)
	require.NoError(t, err)
	_, err = s.Create(ctx, newRule(1, "**", "v*"))
	require.NoError(t, err)
	_, err = s.Create(ctx, newRule(2, "**", "v*"))
	require.NoError(t, err)
	rules, err := s.Rules(ctx, 1)
	require.NoError(t, err)
	require.Len(t, rules, 1)

	require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error { return s.ForgetProject(ctx, tx, 1) }))
	rules, err = s.Rules(ctx, 1)
	require.NoError(t, err)
	assert.Empty(t, rules)
	_, total, err := s.List(ctx, 2, core.Page{})
	require.NoError(t, err)
	assert.Equal(t, 1, total, "other projects keep theirs")
	assert.ErrorIs(t, db.Write(ctx, func(tx *sqldb.Tx) error { return s.ForgetProject(ctx, tx, 0) }), core.ErrInvalid)
}

func TestRulesCacheSeesOtherStoresWithinTTL(t *testing.T) {
	onEngines(t, testRulesCacheSeesOtherStoresWithinTTL)
}

func testRulesCacheSeesOtherStoresWithinTTL(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	cachedStore, err := immutable.NewStore(ctx, db, immutable.WithCacheTTL(200*time.Millisecond))
	require.NoError(t, err)
	other, err := immutable.NewStore(ctx, db, immutable.WithCacheTTL(0))
	require.NoError(t, err)

	rules, err := cachedStore.Rules(ctx, 1)
	require.NoError(t, err)
	assert.Empty(t, rules)
	_, err = other.Create(ctx, newRule(1, "**", "v*"))
	require.NoError(t, err)
	rules, err = other.Rules(ctx, 1)
	require.NoError(t, err)
	assert.Len(t, rules, 1, "no cache: read every time")
	rules, err = cachedStore.Rules(ctx, 1)
	require.NoError(t, err)
	assert.Empty(t, rules, "served from memory within the TTL")
	require.Eventually(t, func() bool {
		rules, err := cachedStore.Rules(context.Background(), 1)
		return err == nil && len(rules) == 1
	}, 5*time.Second, 20*time.Millisecond, "seen once the TTL passed")
}

// Selectors are kept whole however long they are (PostgreSQL's unique
// index holds their hash), and a rule with the same long selectors is
// still a duplicate.
func TestStoreLongSelectors(t *testing.T) { onEngines(t, testStoreLongSelectors) }

func testStoreLongSelectors(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	s, err := immutable.NewStore(ctx, db)
	require.NoError(t, err)
	r := newRule(1, "**", strings.Repeat("a", tagselect.MaxPatternLength))
	for i := range 3 {
		r.TagSelectors = append(r.TagSelectors, tagselect.Selector{Kind: tagselect.Kind, Decoration: tagselect.Matches,
			Pattern: strings.Repeat(string(rune('b'+i)), tagselect.MaxPatternLength)})
	}
	created, err := s.Create(ctx, r)
	require.NoError(t, err)
	_, err = s.Create(ctx, r)
	assert.ErrorIs(t, err, core.ErrExists)
	got, err := s.Get(ctx, 1, created.ID)
	require.NoError(t, err)
	require.Len(t, got.TagSelectors, 4)
	for i, sel := range got.TagSelectors {
		assert.Equal(t, r.TagSelectors[i].Pattern, sel.Pattern)
	}
}

// Creations racing on PostgreSQL, where writers run side by side, leave a
// project with MaxRules rules, not one more: each counts what the others
// committed.
func TestConcurrentCreatesKeepTheLimit(t *testing.T) {
	ctx := t.Context()
	s, err := immutable.NewStore(ctx, openDB(t, "postgres"))
	require.NoError(t, err)
	const creators = immutable.MaxRules + 5
	var created, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range creators {
		wg.Go(func() {
			_, err := s.Create(ctx, newRule(3, "**", fmt.Sprintf("v%d.*", i)))
			switch {
			case err == nil:
				created.Add(1)
			case errors.Is(err, core.ErrInvalid):
				refused.Add(1)
			default:
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, immutable.MaxRules, created.Load())
	assert.EqualValues(t, creators-immutable.MaxRules, refused.Load())
	_, total, err := s.List(ctx, 3, core.Page{})
	require.NoError(t, err)
	assert.Equal(t, immutable.MaxRules, total)
}
