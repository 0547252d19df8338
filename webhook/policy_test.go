package webhook_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/webhook"
)

// queue records what is enqueued, or fails.
type queue struct {
	mu   sync.Mutex
	args []jobs.Args
	err  error
}

func (q *queue) Enqueue(_ context.Context, a jobs.Args, _ ...jobs.EnqueueOption) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return 0, q.err
	}
	q.args = append(q.args, a)
	return int64(len(q.args)), nil
}

func validPolicy() webhook.Policy {
	return webhook.Policy{ProjectID: 7, Name: "ci", Enabled: true, EventTypes: push,
		Targets: []webhook.Target{{Address: "https://ci.example/hook"}}}
}

func TestValidation(t *testing.T) {
	svc, _ := newStore(t, sqlite)
	ctx := context.Background()
	targets := func(n int) []webhook.Target {
		var ts []webhook.Target
		for i := range n {
			ts = append(ts, webhook.Target{Address: "https://ci.example/" + strings.Repeat("x", i+1)})
		}
		return ts
	}
	for name, tc := range map[string]struct {
		change func(p *webhook.Policy)
		msg    string
	}{
		"no project":       {func(p *webhook.Policy) { p.ProjectID = 0 }, "needs a project id"},
		"no name":          {func(p *webhook.Policy) { p.Name = "  " }, "needs a name"},
		"long name":        {func(p *webhook.Policy) { p.Name = strings.Repeat("n", 257) }, "more than 256"},
		"control in name":  {func(p *webhook.Policy) { p.Name = "a\nb" }, "control characters"},
		"long description": {func(p *webhook.Policy) { p.Description = strings.Repeat("d", 1025) }, "more than 1024"},
		"nul description":  {func(p *webhook.Policy) { p.Description = "a\x00b" }, "NUL byte"},
		"no event types":   {func(p *webhook.Policy) { p.EventTypes = nil }, "no event type"},
		"unknown type":     {func(p *webhook.Policy) { p.EventTypes = []webhook.EventType{"UPLOAD_CHART"} }, `unknown event type "UPLOAD_CHART"`},
		"no targets":       {func(p *webhook.Policy) { p.Targets = nil }, "has no target"},
		"nine targets":     {func(p *webhook.Policy) { p.Targets = targets(9) }, "9 targets, more than 8"},
		"ftp":              {func(p *webhook.Policy) { p.Targets[0].Address = "ftp://ci.example/" }, "must be an http or https URL"},
		"file":             {func(p *webhook.Policy) { p.Targets[0].Address = "file:///etc/passwd" }, "must be an http or https URL"},
		"relative":         {func(p *webhook.Policy) { p.Targets[0].Address = "/hook" }, "must be an http or https URL"},
		"no host":          {func(p *webhook.Policy) { p.Targets[0].Address = "https:///hook" }, "no host"},
		"opaque":           {func(p *webhook.Policy) { p.Targets[0].Address = "http:ci.example" }, "no host"},
		"user info":        {func(p *webhook.Policy) { p.Targets[0].Address = "https://u:p@ci.example/" }, "user information"},
		"fragment":         {func(p *webhook.Policy) { p.Targets[0].Address = "https://ci.example/#x" }, "fragment"},
		"bad port":         {func(p *webhook.Policy) { p.Targets[0].Address = "https://ci.example:99999/" }, "invalid port"},
		"space":            {func(p *webhook.Policy) { p.Targets[0].Address = "https://ci.example/a b" }, "spaces"},
		"no address":       {func(p *webhook.Policy) { p.Targets[0].Address = "" }, "needs an address"},
		"target type":      {func(p *webhook.Policy) { p.Targets[0].Type = "slack" }, `target type "slack"`},
		"format":           {func(p *webhook.Policy) { p.Targets[0].PayloadFormat = "XML" }, `payload format "XML"`},
		"header injection": {func(p *webhook.Policy) { p.Targets[0].AuthHeader = "Bearer x\r\nX-Evil: 1" }, "control characters"},
		"duplicate target": {func(p *webhook.Policy) { p.Targets = append(p.Targets, p.Targets[0]) }, "appears twice"},
		"short secret":     {func(p *webhook.Policy) { p.Secret = "short" }, "16 to 256 bytes"},
		"query redacted":   {func(p *webhook.Policy) { p.Targets[0].Address = "gopher://h/?token=hunter2" }, `"gopher://h/?…"`},
	} {
		t.Run(name, func(t *testing.T) {
			p := validPolicy()
			tc.change(&p)
			_, err := svc.Create(ctx, p)
			require.ErrorIs(t, err, core.ErrInvalid)
			assert.Contains(t, err.Error(), tc.msg)
			assert.NotContains(t, err.Error(), "hunter2")
			status, ok := core.HTTPStatus(err)
			assert.True(t, ok)
			assert.Equal(t, 400, status)
		})
	}
	_, total, err := svc.List(ctx, 7, core.Page{})
	require.NoError(t, err)
	assert.Zero(t, total)
}

func TestPolicyCRUD(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		svc, db := newStore(t, eng, webhook.WithClock(func() time.Time { return now }))
		ctx := core.WithActor(context.Background(), "alice")

		in := validPolicy()
		in.Name = "  ci  "
		in.Description = "tell CI"
		in.EventTypes = []webhook.EventType{webhook.PushArtifact, webhook.ScanningCompleted, webhook.PushArtifact}
		in.Targets = []webhook.Target{{Address: "HTTPS://CI.Example/Hook?x=1", AuthHeader: "Bearer hunter2"}}
		p, err := svc.Create(ctx, in)
		require.NoError(t, err)
		assert.Positive(t, p.ID)
		assert.Equal(t, "ci", p.Name)
		assert.Len(t, p.Secret, 64, "a generated secret")
		assert.Equal(t, "alice", p.Creator)
		assert.Equal(t, now, p.CreatedAt)
		assert.Equal(t, []webhook.EventType{webhook.PushArtifact, webhook.ScanningCompleted}, p.EventTypes)
		assert.Equal(t, []webhook.Target{{Type: "http", Address: "https://ci.example/Hook?x=1", AuthHeader: "Bearer hunter2",
			PayloadFormat: webhook.FormatDefault}}, p.Targets)

		got, err := svc.Get(ctx, 7, p.ID)
		require.NoError(t, err)
		assert.Empty(t, got.Secret, "the secret is write-only")
		want := p
		want.Secret = ""
		assert.Equal(t, want, got)
		byName, err := svc.GetByName(ctx, 7, "ci")
		require.NoError(t, err)
		assert.Equal(t, got, byName)

		// Secrets and auth headers are sealed at rest.
		var secret, targets string
		require.NoError(t, db.QueryRow(ctx, `SELECT secret, targets FROM webhook_policies WHERE id = ?`, p.ID).Scan(&secret, &targets))
		assert.True(t, strings.HasPrefix(secret, "gcm:"))
		assert.NotContains(t, secret, p.Secret)
		assert.NotContains(t, targets, "hunter2")

		_, err = svc.Create(ctx, validPolicy())
		assert.ErrorIs(t, err, core.ErrExists)
		other := validPolicy()
		other.ProjectID = 8
		_, err = svc.Create(ctx, other)
		require.NoError(t, err, "names are unique per project")

		second := validPolicy()
		second.Name = "second"
		second.Secret = "a secret of my own choosing"
		s2, err := svc.Create(ctx, second)
		require.NoError(t, err)
		assert.Equal(t, "a secret of my own choosing", s2.Secret)

		now = now.Add(time.Hour)
		up, err := svc.Update(ctx, 7, p.ID, func(p *webhook.Policy) error {
			assert.Equal(t, "Bearer hunter2", p.Targets[0].AuthHeader)
			p.Description = "changed"
			p.Enabled = false
			p.ID, p.ProjectID, p.Creator = 99, 99, "mallory" // ignored
			p.Targets = append(p.Targets, webhook.Target{Address: "http://other.example", PayloadFormat: webhook.FormatCloudEvents})
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, p.ID, up.ID)
		assert.Equal(t, int64(7), up.ProjectID)
		assert.Equal(t, "alice", up.Creator)
		assert.Equal(t, "changed", up.Description)
		assert.False(t, up.Enabled)
		assert.Len(t, up.Targets, 2)
		assert.Equal(t, now, up.UpdatedAt)
		assert.Equal(t, p.CreatedAt, up.CreatedAt)
		assert.Empty(t, up.Secret)

		_, err = svc.Update(ctx, 7, p.ID, func(p *webhook.Policy) error {
			p.Name = "second"
			return nil
		})
		assert.ErrorIs(t, err, core.ErrExists)
		_, err = svc.Update(ctx, 7, p.ID, func(p *webhook.Policy) error {
			p.Targets[0].Address = "gopher://x"
			return nil
		})
		assert.ErrorIs(t, err, core.ErrInvalid)
		boom := errors.New("boom")
		_, err = svc.Update(ctx, 7, p.ID, func(p *webhook.Policy) error { return boom })
		assert.ErrorIs(t, err, boom)
		_, err = svc.Update(ctx, 7, 12345, func(p *webhook.Policy) error { return nil })
		assert.ErrorIs(t, err, core.ErrNotFound)

		rotated, err := svc.RotateSecret(ctx, 7, p.ID)
		require.NoError(t, err)
		assert.Len(t, rotated, 64)
		assert.NotEqual(t, p.Secret, rotated)

		list, total, err := svc.List(ctx, 7, core.Page{Limit: 1})
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		require.Len(t, list, 1)
		assert.Equal(t, p.ID, list[0].ID)
		list, _, err = svc.List(ctx, 7, core.Page{Offset: 1, Limit: 1})
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, s2.ID, list[0].ID)
		assert.Empty(t, list[0].Secret)

		require.NoError(t, svc.Delete(ctx, 7, s2.ID))
		assert.ErrorIs(t, svc.Delete(ctx, 7, s2.ID), core.ErrNotFound)
		_, err = svc.Get(ctx, 7, s2.ID)
		assert.ErrorIs(t, err, core.ErrNotFound)
		again, err := svc.Create(ctx, second)
		require.NoError(t, err)
		assert.Greater(t, again.ID, s2.ID, "ids are never reused")
	})
}

func TestForgetProject(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		q := &queue{}
		svc, db := newStore(t, eng, webhook.WithQueue(q))
		ctx := context.Background()
		for _, proj := range []int64{7, 8} {
			p := validPolicy()
			p.ProjectID = proj
			_, err := svc.Create(ctx, p)
			require.NoError(t, err)
			require.NoError(t, svc.Emit(ctx, pushEvent(proj)))
		}
		assert.Len(t, q.args, 2)

		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error { return svc.ForgetProject(ctx, tx, 7) }))
		_, total, err := svc.List(ctx, 7, core.Page{})
		require.NoError(t, err)
		assert.Zero(t, total)
		_, total, err = svc.Deliveries(ctx, 7, 0, core.Page{})
		require.NoError(t, err)
		assert.Zero(t, total)
		var rows int
		require.NoError(t, db.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE project_id = 7`).Scan(&rows))
		assert.Zero(t, rows)

		// The other project keeps everything.
		_, total, err = svc.List(ctx, 8, core.Page{})
		require.NoError(t, err)
		assert.Equal(t, 1, total)
		_, total, err = svc.Deliveries(ctx, 8, 0, core.Page{})
		require.NoError(t, err)
		assert.Equal(t, 1, total)

		// A rolled-back deletion removes nothing.
		err = db.Write(ctx, func(tx *sqldb.Tx) error {
			if err := svc.ForgetProject(ctx, tx, 8); err != nil {
				return err
			}
			return errors.New("another cascade refused")
		})
		require.Error(t, err)
		_, total, err = svc.List(ctx, 8, core.Page{})
		require.NoError(t, err)
		assert.Equal(t, 1, total)

		err = db.Write(ctx, func(tx *sqldb.Tx) error { return svc.ForgetProject(ctx, tx, 0) })
		assert.ErrorIs(t, err, core.ErrInvalid)
	})
}

func TestEmit(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		q := &queue{}
		svc, _ := newStore(t, eng, webhook.WithQueue(q))
		ctx := context.Background()

		e := pushEvent(7)
		e.Type = "UPLOAD_CHART"
		assert.ErrorIs(t, svc.Emit(ctx, e), core.ErrInvalid)
		e = pushEvent(0)
		assert.ErrorIs(t, svc.Emit(ctx, e), core.ErrInvalid)
		require.NoError(t, svc.Emit(ctx, pushEvent(7)), "no policy: nothing to do")
		assert.Empty(t, q.args)

		p := validPolicy()
		p.Targets = append(p.Targets, webhook.Target{Address: "https://two.example"})
		pol, err := svc.Create(ctx, p)
		require.NoError(t, err)

		// Too big a payload is refused before anything is logged.
		e = pushEvent(7)
		e.Custom = map[string]string{"big": strings.Repeat("x", 1<<20)}
		assert.ErrorIs(t, svc.Emit(ctx, e), core.ErrInvalid)

		// The queue failing leaves the deliveries logged, pending.
		q.err = errors.New("queue down")
		err = svc.Emit(ctx, pushEvent(7))
		require.ErrorContains(t, err, "2 of 2 deliveries logged but not queued")
		ds, total, err := svc.Deliveries(ctx, 7, pol.ID, core.Page{})
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		for _, d := range ds {
			assert.Equal(t, webhook.StatusPending, d.Status)
		}
		q.err = nil
		n, err := svc.Resume(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		assert.Len(t, q.args, 2)

		noQueue, _ := newStore(t, eng)
		assert.ErrorContains(t, noQueue.Emit(ctx, pushEvent(7)), "no job queue")

		// Purge keeps pending deliveries.
		purged, err := svc.Purge(ctx, time.Now().Add(time.Hour))
		require.NoError(t, err)
		assert.Zero(t, purged)
	})
}
