package scan

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Nodes sharing a database claim each scheduled tick of scan-all at once:
// exactly one wins each tick, and an older tick never wins after a newer
// one (values compare as strings, byte by byte on both engines).
func TestClaimSettingOneWinner(t *testing.T) {
	OnEngines(t, func(t *testing.T) {
		ctx := context.Background()
		open := DBOpener(t) // one database, a handle per node
		var stores []*store
		for range 4 {
			db, err := open()
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			st, err := newStore(ctx, db, time.Now)
			require.NoError(t, err)
			stores = append(stores, st)
		}
		for tick := range 5 {
			value := fmt.Sprintf("%020d", int64(tick+1)*1e9)
			var wins atomic.Int32
			var wg sync.WaitGroup
			for _, st := range stores {
				for range 2 {
					wg.Go(func() {
						won, err := st.claimSetting(ctx, settingLastFired, value)
						assert.NoError(t, err)
						if won {
							wins.Add(1)
						}
					})
				}
			}
			wg.Wait()
			assert.Equal(t, int32(1), wins.Load(), "tick %d", tick)
		}
		won, err := stores[0].claimSetting(ctx, settingLastFired, fmt.Sprintf("%020d", int64(1e9)))
		require.NoError(t, err)
		assert.False(t, won, "an older tick")
	})
}
