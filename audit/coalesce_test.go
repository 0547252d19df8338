package audit

import (
	"testing"
	"time"

	"github.com/berthlabs/berth/sqldb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCoalescePulls(t *testing.T) {
	t0 := time.Unix(100, 0)
	pull := func(actor, res string, at int) Entry {
		return Entry{Actor: actor, Action: ActionPull, Resource: res, Time: t0.Add(time.Duration(at) * time.Millisecond)}
	}
	push := Entry{Actor: "a", Action: ActionPush, Resource: "p/app:1", Time: t0}
	in := []Entry{pull("a", "p/app:1", 5), push, pull("a", "p/app:1", 1), push, pull("b", "p/app:1", 2), pull("a", "p/app:2", 3), pull("a", "p/app:1", 9)}
	out := coalescePulls(in)
	assert.Equal(t, []Entry{
		{Actor: "a", Action: ActionPull, Resource: "p/app:1", Time: t0.Add(time.Millisecond), Count: 3},
		push, push,
		pull("b", "p/app:1", 2),
		pull("a", "p/app:2", 3),
	}, out, "pulls fold by actor and resource keeping the first time; pushes never fold")
}

// Refused pushes fold like pulls (a client retrying); refused and
// completed operations never fold together.
func TestCoalesceRefusedPushes(t *testing.T) {
	t0 := time.Unix(100, 0)
	refused := Entry{Actor: "a", Action: ActionPush, Resource: "p/app:1", Result: ResultFailure, Detail: "refused (403): no", Time: t0}
	done := Entry{Actor: "a", Action: ActionPush, Resource: "p/app:1", Time: t0}
	pullRefused := Entry{Actor: "a", Action: ActionPull, Resource: "p/app:1", Result: ResultFailure, Detail: "refused (403): no", Time: t0}
	out := coalescePulls([]Entry{refused, done, refused, pullRefused, refused})
	folded := refused
	folded.Count = 3
	assert.Equal(t, []Entry{folded, done, pullRefused}, out)
}

// Every pull is accounted for: the counts of the folded rows add up.
func TestRecorderFoldsRepeatedPulls(t *testing.T) { OnEngines(t, testRecorderFoldsRepeatedPulls) }

func testRecorderFoldsRepeatedPulls(t *testing.T, db *sqldb.DB) {
	s, err := NewStore(t.Context(), db)
	require.NoError(t, err)
	rec := NewRecorder(s, WithBatch(64, time.Hour))
	for range 200 {
		require.NoError(t, rec.Record(t.Context(), Entry{Actor: "ci", Action: ActionPull, Resource: "p/app:1"}))
	}
	require.NoError(t, rec.Record(t.Context(), Entry{Actor: "ci", Action: ActionPush, Resource: "p/app:1"}))
	require.NoError(t, rec.Close(t.Context()))
	es, _, err := s.Query(t.Context(), Filter{Action: ActionPull}, Page{Limit: 100})
	require.NoError(t, err)
	total := 0
	for _, e := range es {
		total += max(e.Count, 1)
	}
	assert.Equal(t, 200, total)
	assert.LessOrEqual(t, len(es), 4, "200 pulls in batches of 64 fold into one row per batch")
	assert.Equal(t, int64(201), rec.Stats().Written)
}

func TestCoalescePullsAcrossConnections(t *testing.T) {
	e := func(addr string) Entry {
		return Entry{Actor: "ci", Action: ActionPull, Resource: "p/app:1", RemoteAddr: addr}
	}
	out := coalescePulls([]Entry{e("10.0.0.1:1234"), e("10.0.0.1:5678"), e("10.0.0.2:1234"), e("[::1]:80"), e("[::1]:81")})
	require.Len(t, out, 3, "one client's connections are one caller; other hosts stay apart")
	assert.Equal(t, 2, out[0].Count)
	assert.Equal(t, "10.0.0.1:1234", out[0].RemoteAddr, "the first address is kept")
	assert.Equal(t, 2, out[2].Count)
}
