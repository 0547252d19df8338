package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// headerActor names the caller after its X-Actor header (none: anonymous),
// as an Authorizer records it.
type headerActor struct{}

func (headerActor) Authorize(r *http.Request, _ []Access) (context.Context, error) {
	if a := r.Header.Get("X-Actor"); a != "" {
		return WithActor(r.Context(), a), nil
	}
	return r.Context(), nil
}

// startAs opens a session in repo as actor and returns the response.
func (tr *testRegistry) startAs(actor, repo string) *response {
	tr.t.Helper()
	return tr.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, hdr("X-Actor", actor))
}

// requireCap asserts a start refused by the named cap.
func requireCap(t *testing.T, r *response, cap, inMessage string) {
	t.Helper()
	requireError(t, r, http.StatusTooManyRequests, CodeTooManyRequests)
	assert.Equal(t, "60", r.Header.Get("Retry-After"))
	var body struct {
		Errors []struct {
			Message string
			Detail  struct{ Cap string }
		}
	}
	require.NoError(t, json.Unmarshal(r.Body, &body))
	assert.Equal(t, cap, body.Errors[0].Detail.Cap)
	assert.Contains(t, body.Errors[0].Message, inMessage)
}

func TestUploadCaps(t *testing.T) { onEveryEngine(t, testUploadCaps) }

func testUploadCaps(t *testing.T) {
	type start struct{ actor, repo string }
	tests := []struct {
		name     string
		opts     []Option
		fill     []start // all accepted
		refused  start
		cap, msg string
		still    start // accepted after the refusal
	}{
		{"per user", []Option{WithMaxOpenUploadsPerUser(2)},
			[]start{{"alice", "a/x"}, {"alice", "b/y"}}, start{"alice", "c/z"}, "user", "per-user limit",
			start{"bob", "a/x"}},
		{"per project", []Option{WithMaxOpenUploadsPerProject(2)},
			[]start{{"alice", "p/x"}, {"bob", "p/y"}}, start{"carol", "p/z"}, "project", `project "p"`,
			start{"carol", "q/z"}},
		{"whole registry", []Option{WithMaxOpenUploads(2)},
			[]start{{"alice", "a/x"}, {"bob", "b/y"}}, start{"carol", "c/z"}, "registry", "the registry already has 2",
			start{"carol", "c/z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t, append(tt.opts, WithAuthorizer(headerActor{}))...)
			var first string
			for _, s := range tt.fill {
				r := tr.startAs(s.actor, s.repo)
				require.Equal(t, http.StatusAccepted, r.Status, "%+v: %s", s, r.Body)
				if first == "" {
					first = r.Header.Get("Location")
				}
			}
			requireCap(t, tr.startAs(tt.refused.actor, tt.refused.repo), tt.cap, tt.msg)
			if tt.cap == "registry" {
				// The registry's cap binds everyone until a session ends.
				require.Equal(t, http.StatusNoContent, tr.do(http.MethodDelete, first, nil, nil).Status)
			}
			r := tr.startAs(tt.still.actor, tt.still.repo)
			assert.Equal(t, http.StatusAccepted, r.Status, "%+v: %s", tt.still, r.Body)
		})
	}
}

// Anonymous callers are counted per client address; IPv6 by its /64.
func TestAnonymousUploadsCountPerAddress(t *testing.T) {
	onEveryEngine(t, testAnonymousUploadsCountPerAddress)
}

func testAnonymousUploadsCountPerAddress(t *testing.T) {
	tr := newTestRegistry(t, WithMaxOpenUploadsPerUser(1))
	startFrom := func(addr string) *response {
		req := httptest.NewRequest(http.MethodPost, "/v2/pub/app/blobs/uploads/", nil)
		req.RemoteAddr = addr
		return tr.serve(req)
	}
	require.Equal(t, http.StatusAccepted, startFrom("192.0.2.1:4000").Status)
	requireCap(t, startFrom("192.0.2.1:4001"), "user", "anonymous callers from your address")
	assert.Equal(t, http.StatusAccepted, startFrom("192.0.2.2:4000").Status, "another address has its own bucket")

	require.Equal(t, http.StatusAccepted, startFrom("[2001:db8:1:2::1]:4000").Status)
	requireCap(t, startFrom("[2001:db8:1:2:ffff::9]:4000"), "user", "your address")
	assert.Equal(t, http.StatusAccepted, startFrom("[2001:db8:1:3::1]:4000").Status, "another /64")
}

// Concurrent starts never overshoot a cap: exactly the cap's worth win.
func TestUploadCapsHoldUnderConcurrency(t *testing.T) {
	onEveryEngine(t, testUploadCapsHoldUnderConcurrency)
}

func testUploadCapsHoldUnderConcurrency(t *testing.T) {
	const capacity, racers = 5, 64
	tests := []struct {
		name string
		opt  Option
	}{
		{"per user", WithMaxOpenUploadsPerUser(capacity)},
		{"per project", WithMaxOpenUploadsPerProject(capacity)},
		{"whole registry", WithMaxOpenUploads(capacity)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t, tt.opt, WithAuthorizer(headerActor{}))
			statuses := make([]int, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					statuses[i] = tr.startAs("alice", "p/app").Status
				})
			}
			wg.Wait()
			won, refused := 0, 0
			for _, s := range statuses {
				switch s {
				case http.StatusAccepted:
					won++
				case http.StatusTooManyRequests:
					refused++
				}
			}
			assert.Equal(t, capacity, won, "statuses %v", statuses)
			assert.Equal(t, racers-capacity, refused, "statuses %v", statuses)
		})
	}
}

// Completing or cancelling a session gives its slot back; so does a
// closing PUT whose digest does not match, which ends the session.
func TestEndedUploadFreesItsSlot(t *testing.T) { onEveryEngine(t, testEndedUploadFreesItsSlot) }

func testEndedUploadFreesItsSlot(t *testing.T) {
	tr := newTestRegistry(t, WithMaxOpenUploadsPerUser(1), WithAuthorizer(headerActor{}))
	open := func() string {
		t.Helper()
		r := tr.startAs("alice", "p/app")
		require.Equal(t, http.StatusAccepted, r.Status, "body: %s", r.Body)
		requireCap(t, tr.startAs("alice", "p/app"), "user", "per-user")
		return r.Header.Get("Location")
	}
	content := []byte("a layer")
	loc := open()
	r := tr.do(http.MethodPut, loc+"?digest="+digestOf(content), content, hdr("X-Actor", "alice"))
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)

	loc = open()
	require.Equal(t, http.StatusNoContent, tr.do(http.MethodDelete, loc, nil, nil).Status)

	loc = open()
	r = tr.do(http.MethodPut, loc+"?digest="+digestOf([]byte("other")), content, nil)
	requireError(t, r, http.StatusBadRequest, CodeDigestInvalid)

	open()
}

func digestOf(b []byte) string { return digest.FromBytes(b).String() }

// The quota counts and the purge are index lookups, never a table scan.
func TestUploadQueriesUseIndexes(t *testing.T) {
	tr := newTestRegistry(t)
	plan := func(q string, args ...any) string {
		rows, err := tr.rg.db.Query(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		require.NoError(t, err)
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			lines = append(lines, detail)
		}
		require.NoError(t, rows.Err())
		return strings.Join(lines, "\n")
	}
	counts := plan(uploadCountsQuery, "user:a", 0, "p", 0, 0)
	for _, idx := range []string{"registry_uploads_owner", "registry_uploads_project", "registry_uploads_touched"} {
		assert.Contains(t, counts, "USING COVERING INDEX "+idx)
	}
	expire := plan(expireUploadsQuery, 0, 0)
	assert.Contains(t, expire, "registry_uploads_touched")
	assert.Contains(t, expire, "registry_uploads_started")
	for _, p := range []string{counts, expire} {
		assert.NotContains(t, p, "SCAN registry_uploads", p)
	}
}

// Sessions open before the quota columns existed get their project and
// activity from what they had.
func TestUploadQuotaMigration(t *testing.T) {
	for _, e := range []engine{sqliteMemory, postgres} {
		t.Run(string(e), func(t *testing.T) {
			ctx := t.Context()
			db := openDB(t, e)
			first, err := migrations.ReadFile("migrations/" + string(db.Dialect()) + "/0001_registry.sql")
			require.NoError(t, err)
			require.NoError(t, db.Migrate(ctx, "registry", fstest.MapFS{"0001_registry.sql": {Data: first}}))
			require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO registry_uploads (id, repo, started_at) VALUES ('u1', 'team/app/web', 42), ('u2', 'solo', 7)`)
				return err
			}))
			_, err = New(ctx, memory.New(), db)
			require.NoError(t, err)
			for id, want := range map[string]struct {
				project string
				touched int64
			}{"u1": {"team", 42}, "u2": {"solo", 7}} {
				var project string
				var touched int64
				require.NoError(t, db.QueryRow(ctx, `SELECT project, touched_at FROM registry_uploads WHERE id = ?`, id).Scan(&project, &touched))
				assert.Equal(t, want.project, project, id)
				assert.Equal(t, want.touched, touched, id)
			}
		})
	}
}
