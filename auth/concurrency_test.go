package auth

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

// race runs fn(i) for i in [0, n) in n goroutines released together, and
// returns their errors by i. On PostgreSQL the writes run side by side.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// count returns how many of errs match target (nil: how many are nil).
func count(errs []error, target error) int {
	n := 0
	for _, err := range errs {
		if err == target || target != nil && errors.Is(err, target) {
			n++
		}
	}
	return n
}

// Admins revoked and deleted all at once: the last one stays. On
// PostgreSQL each transaction counted the others before any committed,
// and all of them went.
func TestConcurrentAdminRemovalsKeepOne(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		const n = 6
		for i := range n {
			_, err := users.Create(ctx, User{Name: fmt.Sprintf("admin%d", i), SystemAdmin: true}, "password1")
			require.NoError(t, err)
		}
		errs := race(n, func(i int) error {
			name := fmt.Sprintf("admin%d", i)
			if i%2 == 0 {
				return users.SetSystemAdmin(ctx, name, false)
			}
			return users.Delete(ctx, name)
		})
		assert.Equal(t, n-1, count(errs, nil), "%v", errs)
		assert.Equal(t, 1, count(errs, ErrLastAdmin), "exactly one removal is refused")
		admins, err := countAdmins(ctx, db.QueryRow)
		require.NoError(t, err)
		assert.Equal(t, 1, admins)
	})
}

// Of several changes from the same old password, one succeeds.
func TestConcurrentPasswordChangesOneWins(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		_, err := users.Create(ctx, User{Name: "alice"}, "old-password")
		require.NoError(t, err)
		const n = 6
		errs := race(n, func(i int) error {
			return users.ChangePassword(ctx, "alice", "old-password", fmt.Sprintf("new-password-%d", i))
		})
		require.Equal(t, 1, count(errs, nil), "%v", errs)
		require.Equal(t, n-1, count(errs, ErrInvalidCredentials))
		for i, err := range errs {
			if err == nil {
				_, err := users.Authenticate(ctx, "alice", fmt.Sprintf("new-password-%d", i))
				assert.NoError(t, err, "the winner's password is stored")
			}
		}
	})
}

// Nodes starting together bootstrap one admin, and none fails; a user's
// first logins on several nodes at once onboard it once, and none fails.
func TestConcurrentBootstrapAndOnboard(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		rec := &recorder{}
		users := newTestUsers(t, db, WithChangeHook(rec.hook))
		const n = 6
		errs := race(n, func(int) error {
			_, err := users.Bootstrap(ctx, "admin", "first-admin-pw")
			return err
		})
		assert.Equal(t, n, count(errs, nil), "%v", errs)

		errs = race(n, func(int) error {
			_, err := users.Onboard(ctx, "lucy", "lucy@example.com", "Lucy", SourceLDAP)
			return err
		})
		assert.Equal(t, n, count(errs, nil), "%v", errs)
		var creates int
		for _, c := range rec.all() {
			if c.Kind == ChangeUserCreate {
				creates++
			}
		}
		assert.Equal(t, 2, creates, "the admin and lucy, once each")
	})
}

// Updates of different fields of a robot at once all stick: each writes
// the whole row back, so on PostgreSQL one undid another's.
func TestConcurrentRobotUpdatesLoseNothing(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		robots := newTestRobots(t, db)
		r, _, err := robots.Create(ctx, Robot{Name: "ci", Project: "library", Permissions: pushPull("library")})
		require.NoError(t, err)
		for round := range 3 {
			desc, disabled := fmt.Sprintf("round %d", round), round%2 == 0
			perms := pushPull("library")[:1+round%2]
			errs := race(3, func(i int) error {
				u := []RobotUpdate{{Description: &desc}, {Disabled: &disabled}, {Permissions: &perms}}[i]
				_, err := robots.Update(ctx, r.Name, u)
				return err
			})
			require.Equal(t, 3, count(errs, nil), "%v", errs)
			got, err := robots.Get(ctx, r.Name)
			require.NoError(t, err)
			assert.Equal(t, desc, got.Description)
			assert.Equal(t, disabled, got.Disabled)
			assert.Len(t, got.Permissions, len(perms))
		}
	})
}
