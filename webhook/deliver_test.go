package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/webhook"
)

var push = []webhook.EventType{webhook.PushArtifact}

func TestDeliversBothFormatsSigned(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		rcv := newReceiver(t, nil)
		p := e.policy(7, "ci", push,
			webhook.Target{Address: rcv.URL + "/default", AuthHeader: "Bearer s3cret"},
			webhook.Target{Address: rcv.URL + "/ce", PayloadFormat: webhook.FormatCloudEvents})
		require.NotEmpty(t, p.Secret)

		require.NoError(t, e.svc.Emit(ctx, pushEvent(7)))
		got := map[string]request{}
		for range 2 {
			q := rcv.next(t)
			got[q.path] = q
		}
		ds := e.waitDeliveries(7, p.ID, 2)
		byUUID := map[string]webhook.Delivery{}
		for _, d := range ds {
			assert.Equal(t, webhook.StatusSuccess, d.Status)
			assert.Equal(t, 1, d.Attempts)
			assert.Equal(t, http.StatusOK, d.HTTPStatus)
			assert.Empty(t, d.LastError)
			assert.Equal(t, webhook.PushArtifact, d.EventType)
			assert.False(t, d.Test)
			byUUID[d.UUID] = d
		}

		wantData := `{
			"resources": [{"digest": "sha256:` + strings.Repeat("ab", 32) + `", "tag": "v1",
				"resource_url": "reg.example/library/alpine:v1",
				"media_type": "application/vnd.oci.image.manifest.v1+json", "size": 1234}],
			"repository": {"name": "alpine", "namespace": "library", "repo_full_name": "library/alpine", "repo_type": "private"}}`

		def := got["/default"]
		assert.Equal(t, "application/json", def.header.Get("Content-Type"))
		assert.Equal(t, "Bearer s3cret", def.header.Get("Authorization"))
		assert.Equal(t, "PUSH_ARTIFACT", def.header.Get(webhook.HeaderEvent))
		assert.True(t, webhook.Verify([]byte(p.Secret), def.body, def.header.Get(webhook.HeaderSignature)))
		assert.False(t, webhook.Verify([]byte("another secret of sixteen"), def.body, def.header.Get(webhook.HeaderSignature)))
		d, ok := byUUID[def.header.Get(webhook.HeaderDelivery)]
		require.True(t, ok, "X-Berth-Delivery names a logged delivery")
		assert.Equal(t, webhook.FormatDefault, d.PayloadFormat)
		var payload struct {
			Type      string          `json:"type"`
			OccurAt   int64           `json:"occur_at"`
			Operator  string          `json:"operator"`
			EventData json.RawMessage `json:"event_data"`
		}
		require.NoError(t, json.Unmarshal(def.body, &payload))
		assert.Equal(t, "PUSH_ARTIFACT", payload.Type)
		assert.Equal(t, int64(1700000000), payload.OccurAt)
		assert.Equal(t, "alice", payload.Operator)
		assert.JSONEq(t, wantData, string(payload.EventData))

		ce := got["/ce"]
		assert.Equal(t, "application/cloudevents+json", ce.header.Get("Content-Type"))
		assert.Empty(t, ce.header.Get("Authorization"))
		assert.True(t, webhook.Verify([]byte(p.Secret), ce.body, ce.header.Get(webhook.HeaderSignature)))
		var event map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(ce.body, &event))
		str := func(k string) string {
			var s string
			require.NoError(t, json.Unmarshal(event[k], &s), k)
			return s
		}
		assert.Equal(t, "1.0", str("specversion"))
		assert.Equal(t, ce.header.Get(webhook.HeaderDelivery), str("id"))
		assert.Equal(t, "/projects/7/webhook/policies/"+strconv.FormatInt(p.ID, 10), str("source"))
		assert.Equal(t, "harbor.artifact.pushed", str("type"))
		assert.Equal(t, "application/json", str("datacontenttype"))
		assert.Equal(t, "2023-11-14T22:13:20Z", str("time"))
		assert.Equal(t, "alice", str("operator"))
		assert.JSONEq(t, wantData, string(event["data"]))
		assert.Len(t, event, 8)
	})
}

func TestRetriesUntilTheReceiverAnswers(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		e := newEnv(t, eng)
		rcv := newReceiver(t, func(n int) int {
			if n <= 2 {
				return http.StatusInternalServerError
			}
			return http.StatusNoContent
		})
		p := e.policy(7, "flaky", push, webhook.Target{Address: rcv.URL})
		require.NoError(t, e.svc.Emit(context.Background(), pushEvent(7)))

		var reqs []request
		for range 3 {
			reqs = append(reqs, rcv.next(t))
		}
		ds := e.waitDeliveries(7, p.ID, 1)
		assert.Equal(t, webhook.StatusSuccess, ds[0].Status)
		assert.Equal(t, 3, ds[0].Attempts)
		assert.Equal(t, http.StatusNoContent, ds[0].HTTPStatus)
		assert.Empty(t, ds[0].LastError)
		for _, q := range reqs[1:] {
			assert.Equal(t, reqs[0].body, q.body, "every attempt sends the same body")
			assert.Equal(t, reqs[0].header.Get(webhook.HeaderDelivery), q.header.Get(webhook.HeaderDelivery))
			assert.Equal(t, reqs[0].header.Get(webhook.HeaderSignature), q.header.Get(webhook.HeaderSignature))
		}
		assert.Equal(t, 3, rcv.count())
	})
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		e := newEnv(t, eng, webhook.WithMaxAttempts(2))
		rcv := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
		p := e.policy(7, "down", push, webhook.Target{Address: rcv.URL + "/hook?token=abc"})
		require.NoError(t, e.svc.Emit(context.Background(), pushEvent(7)))
		ds := e.waitDeliveries(7, p.ID, 1)
		assert.Equal(t, webhook.StatusFailed, ds[0].Status)
		assert.Equal(t, 2, ds[0].Attempts)
		assert.Equal(t, http.StatusServiceUnavailable, ds[0].HTTPStatus)
		assert.Equal(t, "the receiver answered 503 Service Unavailable", ds[0].LastError)
		assert.True(t, ds[0].NextAttemptAt.IsZero())
		assert.Equal(t, 2, rcv.count())
	})
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	e := newEnv(t, sqlite, webhook.WithMaxAttempts(1))
	elsewhere := newReceiver(t, nil)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(rcv.Close)
	p := e.policy(7, "redirect", push, webhook.Target{Address: rcv.URL})
	require.NoError(t, e.svc.Emit(context.Background(), pushEvent(7)))
	ds := e.waitDeliveries(7, p.ID, 1)
	assert.Equal(t, webhook.StatusFailed, ds[0].Status)
	assert.Equal(t, http.StatusTemporaryRedirect, ds[0].HTTPStatus)
	assert.Contains(t, ds[0].LastError, "redirects are not followed")
	assert.Zero(t, elsewhere.count())
}

func TestDeniedNetworks(t *testing.T) {
	e := newEnv(t, sqlite, webhook.WithMaxAttempts(1), webhook.WithDenyNetworks(netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("::1/128")))
	rcv := newReceiver(t, nil)
	p := e.policy(7, "loopback", push, webhook.Target{Address: rcv.URL})
	require.NoError(t, e.svc.Emit(context.Background(), pushEvent(7)))
	ds := e.waitDeliveries(7, p.ID, 1)
	assert.Equal(t, webhook.StatusFailed, ds[0].Status)
	assert.Contains(t, ds[0].LastError, "is not allowed")
	assert.Zero(t, rcv.count())
}

func TestTimeoutFailsTheAttempt(t *testing.T) {
	e := newEnv(t, sqlite, webhook.WithMaxAttempts(1), webhook.WithTimeout(200*time.Millisecond))
	release := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(rcv.Close)
	t.Cleanup(func() { close(release) })
	p := e.policy(7, "slow", push, webhook.Target{Address: rcv.URL})
	require.NoError(t, e.svc.Emit(context.Background(), pushEvent(7)))
	ds := e.waitDeliveries(7, p.ID, 1)
	assert.Equal(t, webhook.StatusFailed, ds[0].Status)
	assert.Equal(t, "no answer within 200ms", ds[0].LastError)
	assert.Zero(t, ds[0].HTTPStatus)
}

func TestSkipCertVerify(t *testing.T) {
	e := newEnv(t, sqlite, webhook.WithMaxAttempts(1))
	hits := make(chan struct{}, 4)
	tlsRcv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- struct{}{}
	}))
	t.Cleanup(tlsRcv.Close)
	strict := e.policy(7, "strict", push, webhook.Target{Address: tlsRcv.URL})
	lax := e.policy(7, "lax", push, webhook.Target{Address: tlsRcv.URL, SkipCertVerify: true})
	require.NoError(t, e.svc.Emit(context.Background(), pushEvent(7)))

	ds := e.waitDeliveries(7, strict.ID, 1)
	assert.Equal(t, webhook.StatusFailed, ds[0].Status)
	assert.Contains(t, ds[0].LastError, "certificate")
	ds = e.waitDeliveries(7, lax.ID, 1)
	assert.Equal(t, webhook.StatusSuccess, ds[0].Status)
	assert.Len(t, hits, 1)
}

// A delivery queued before a shutdown is sent by the next process on the
// same database.
func TestDeliverySurvivesRestart(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		where := eng.database(t)
		rcv := newReceiver(t, nil)
		ctx := context.Background()

		first := openEnv(t, where) // its runner never works
		p := first.policy(7, "durable", push, webhook.Target{Address: rcv.URL})
		require.NoError(t, first.svc.Emit(ctx, pushEvent(7)))
		ds, total, err := first.svc.Deliveries(ctx, 7, p.ID, core.Page{})
		require.NoError(t, err)
		require.Equal(t, 1, total)
		assert.Equal(t, webhook.StatusPending, ds[0].Status)
		assert.Zero(t, ds[0].Attempts)
		first.close()
		assert.Zero(t, rcv.count())

		second := openEnv(t, where)
		second.start()
		q := rcv.next(t)
		ds = second.waitDeliveries(7, p.ID, 1)
		assert.Equal(t, webhook.StatusSuccess, ds[0].Status)
		assert.Equal(t, ds[0].UUID, q.header.Get(webhook.HeaderDelivery))
		// The secret was sealed with the key and opened by the new process.
		assert.True(t, webhook.Verify([]byte(p.Secret), q.body, q.header.Get(webhook.HeaderSignature)))

		// Resume finds nothing left to do.
		n, err := second.svc.Resume(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

// Resume queues deliveries that were logged but whose job is gone.
func TestResume(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		where := eng.database(t)
		rcv := newReceiver(t, nil)
		ctx := context.Background()
		first := openEnv(t, where)
		p := first.policy(7, "resume", push, webhook.Target{Address: rcv.URL})
		require.NoError(t, first.svc.Emit(ctx, pushEvent(7)))
		_, err := first.pool.ExecContext(ctx, `DELETE FROM river_job`)
		require.NoError(t, err)
		first.close()

		second := openEnv(t, where)
		second.start()
		n, err := second.svc.Resume(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		rcv.next(t)
		ds := second.waitDeliveries(7, p.ID, 1)
		assert.Equal(t, webhook.StatusSuccess, ds[0].Status)
		assert.Equal(t, 1, rcv.count())
	})
}

// Emit only queues: a receiver that hangs does not hold up the caller.
func TestHangingReceiverDoesNotBlockEmit(t *testing.T) {
	e := newEnv(t, sqlite, webhook.WithTimeout(time.Minute))
	arrived := make(chan struct{}, 4)
	release := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	t.Cleanup(rcv.Close) // after release is closed (cleanups run last first)
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
	})
	p := e.policy(7, "hang", push, webhook.Target{Address: rcv.URL})
	ctx := context.Background()

	emit := func() <-chan error {
		done := make(chan error, 1)
		go func() { done <- e.svc.Emit(ctx, pushEvent(7)) }()
		return done
	}
	select {
	case err := <-emit():
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("Emit did not return")
	}
	select {
	case <-arrived: // the worker is now stuck in the receiver
	case <-time.After(15 * time.Second):
		t.Fatal("the delivery never arrived")
	}
	// With the receiver hanging, another Emit still returns: release is
	// closed only after it has.
	select {
	case err := <-emit():
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("Emit waited for a hanging receiver")
	}
	select {
	case <-release:
		t.Fatal("released early")
	default:
	}
	released = true
	close(release)
	ds := e.waitDeliveries(7, p.ID, 2)
	for _, d := range ds {
		assert.Equal(t, webhook.StatusSuccess, d.Status)
	}
}

// Policies of one project never fire for another's events.
func TestProjectsAreIsolated(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		a, b := newReceiver(t, nil), newReceiver(t, nil)
		pa := e.policy(1, "same-name", push, webhook.Target{Address: a.URL})
		pb := e.policy(2, "same-name", push, webhook.Target{Address: b.URL})

		require.NoError(t, e.svc.Emit(ctx, pushEvent(2)))
		b.next(t)
		e.waitDeliveries(2, pb.ID, 1)
		ds, total, err := e.svc.Deliveries(ctx, 1, 0, core.Page{})
		require.NoError(t, err)
		assert.Zero(t, total)
		assert.Empty(t, ds)
		assert.Zero(t, a.count())

		// Project 2 cannot see or touch project 1's policy or its log.
		_, err = e.svc.Get(ctx, 2, pa.ID)
		assert.ErrorIs(t, err, core.ErrNotFound)
		_, _, err = e.svc.Deliveries(ctx, 2, pa.ID, core.Page{})
		assert.ErrorIs(t, err, core.ErrNotFound)
		assert.ErrorIs(t, e.svc.Delete(ctx, 2, pa.ID), core.ErrNotFound)
		assert.ErrorIs(t, e.svc.SendTest(ctx, 2, pa.ID), core.ErrNotFound)
		_, err = e.svc.Update(ctx, 2, pa.ID, func(p *webhook.Policy) error { return nil })
		assert.ErrorIs(t, err, core.ErrNotFound)

		// Last triggers are per project too.
		lts, err := e.svc.LastTriggers(ctx, 2)
		require.NoError(t, err)
		require.Len(t, lts, 1)
		assert.Equal(t, pb.ID, lts[0].PolicyID)
		assert.Equal(t, webhook.PushArtifact, lts[0].EventType)
		assert.WithinDuration(t, time.Now(), lts[0].At, time.Minute)
		lts, err = e.svc.LastTriggers(ctx, 1)
		require.NoError(t, err)
		assert.Empty(t, lts)
	})
}

// Only enabled policies subscribed to the event's type fire.
func TestSubscriptions(t *testing.T) {
	e := newEnv(t, sqlite)
	ctx := context.Background()
	rcv := newReceiver(t, nil)
	pulls := e.policy(7, "pulls", []webhook.EventType{webhook.PullArtifact}, webhook.Target{Address: rcv.URL + "/pulls"})
	off, err := e.svc.Create(ctx, webhook.Policy{ProjectID: 7, Name: "off", EventTypes: push,
		Targets: []webhook.Target{{Address: rcv.URL + "/off"}}})
	require.NoError(t, err)
	pushes := e.policy(7, "pushes", push, webhook.Target{Address: rcv.URL + "/pushes"})

	require.NoError(t, e.svc.Emit(ctx, pushEvent(7)))
	assert.Equal(t, "/pushes", rcv.next(t).path)
	e.waitDeliveries(7, pushes.ID, 1)
	for _, id := range []int64{pulls.ID, off.ID} {
		_, total, err := e.svc.Deliveries(ctx, 7, id, core.Page{})
		require.NoError(t, err)
		assert.Zero(t, total)
	}
}

type projects map[string]int64

func (p projects) ProjectID(_ context.Context, name string) (int64, bool, error) {
	id, ok := p[name]
	return id, ok, nil
}

func (p projects) Public(_ context.Context, name string) (bool, bool, error) {
	_, ok := p[name]
	return ok, name == "library", nil
}

func TestSinkMapsRegistryEvents(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		e := newEnv(t, eng, webhook.WithProjects(projects{"library": 7, "team": 8}))
		ctx := context.Background()
		rcv := newReceiver(t, nil)
		all := []webhook.EventType{webhook.PushArtifact, webhook.PullArtifact, webhook.DeleteArtifact}
		p := e.policy(7, "registry", all, webhook.Target{Address: rcv.URL})
		other := e.policy(8, "registry", all, webhook.Target{Address: rcv.URL + "/team"})
		sink := e.svc.Sink()

		dg := pushEvent(7).Digest
		base := core.Event{Target: core.TargetManifest, Repository: "library/alpine", Digest: digestOf(dg),
			Actor: "bob", Time: time.Unix(1700000000, 0)}
		ignored := []core.Event{
			{Action: core.EventPush, Target: core.TargetBlob, Repository: "library/alpine", Digest: digestOf(dg)},
			{Action: core.EventMount, Target: core.TargetBlob, Repository: "library/alpine", Digest: digestOf(dg)},
			{Action: core.EventDelete, Target: core.TargetTag, Repository: "library/alpine", Tag: "v1"},
			{Action: core.EventPull, Target: core.TargetManifest, Repository: "library/alpine", Refused: "denied", Status: 403},
			{Action: core.EventPush, Target: core.TargetManifest, Repository: "nosuch/alpine", Digest: digestOf(dg)},
		}
		for _, ev := range ignored {
			sink.Emit(ctx, ev)
		}
		pushed := base
		pushed.Action, pushed.Tag = core.EventPush, "v1"
		sink.Emit(ctx, pushed)
		q := rcv.next(t)
		var payload webhook.Payload
		require.NoError(t, json.Unmarshal(q.body, &payload))
		assert.Equal(t, "PUSH_ARTIFACT", payload.Type)
		assert.Equal(t, "bob", payload.Operator)
		require.NotNil(t, payload.EventData)
		require.Len(t, payload.EventData.Resources, 1)
		assert.Equal(t, "v1", payload.EventData.Resources[0].Tag)
		assert.Equal(t, "public", payload.EventData.Repository.RepoType)

		pulled := base
		pulled.Action = core.EventPull
		sink.Emit(ctx, pulled)
		q = rcv.next(t)
		require.NoError(t, json.Unmarshal(q.body, &payload))
		assert.Equal(t, "PULL_ARTIFACT", payload.Type)
		assert.Equal(t, dg, payload.EventData.Resources[0].Tag, "no tag: the digest is the reference")
		assert.Equal(t, "reg.example/library/alpine@"+dg, payload.EventData.Resources[0].ResourceURL)

		e.waitDeliveries(7, p.ID, 2)
		_, total, err := e.svc.Deliveries(ctx, 8, other.ID, core.Page{})
		require.NoError(t, err)
		assert.Zero(t, total)
		assert.Equal(t, 2, rcv.count())
	})
}

func TestSendTest(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		e := newEnv(t, eng, webhook.WithProjectLookup(func(_ context.Context, id int64) (string, bool, bool, error) {
			return "library", false, id == 7, nil
		}))
		ctx := core.WithActor(context.Background(), "alice")
		rcv := newReceiver(t, nil)
		p, err := e.svc.Create(ctx, webhook.Policy{ProjectID: 7, Name: "disabled", EventTypes: []webhook.EventType{webhook.QuotaExceed},
			Targets: []webhook.Target{{Address: rcv.URL, PayloadFormat: webhook.FormatCloudEvents}}})
		require.NoError(t, err)
		assert.Equal(t, "alice", p.Creator)

		require.NoError(t, e.svc.SendTest(ctx, 7, p.ID))
		q := rcv.next(t)
		assert.True(t, webhook.Verify([]byte(p.Secret), q.body, q.header.Get(webhook.HeaderSignature)))
		var ce webhook.CloudEvent
		require.NoError(t, json.Unmarshal(q.body, &ce))
		assert.Equal(t, "harbor.artifact.pushed", ce.Type)
		assert.Equal(t, "alice", ce.Operator)
		assert.Equal(t, map[string]string{"test": "true"}, ce.Data.Custom)
		assert.Equal(t, "library/webhook-test", ce.Data.Repository.RepoFullName)
		ds := e.waitDeliveries(7, p.ID, 1)
		assert.True(t, ds[0].Test)
		assert.Equal(t, webhook.StatusSuccess, ds[0].Status)

		assert.ErrorIs(t, e.svc.SendTest(ctx, 7, p.ID+100), core.ErrNotFound)
	})
}

// A delivery whose policy is disabled, or whose target is removed, before
// its turn is dropped; one whose policy is deleted goes with it.
func TestChangedPolicyDropsQueuedDeliveries(t *testing.T) {
	onEngines(t, func(t *testing.T, eng engine) {
		e := openEnv(t, eng.database(t))
		ctx := context.Background()
		rcv := newReceiver(t, nil)
		disabled := e.policy(7, "disabled", push, webhook.Target{Address: rcv.URL + "/a"})
		moved := e.policy(7, "moved", push, webhook.Target{Address: rcv.URL + "/b"})
		deleted := e.policy(7, "deleted", push, webhook.Target{Address: rcv.URL + "/c"})
		require.NoError(t, e.svc.Emit(ctx, pushEvent(7)))

		_, err := e.svc.Update(ctx, 7, disabled.ID, func(p *webhook.Policy) error {
			p.Enabled = false
			return nil
		})
		require.NoError(t, err)
		_, err = e.svc.Update(ctx, 7, moved.ID, func(p *webhook.Policy) error {
			p.Targets[0].Address = rcv.URL + "/elsewhere"
			return nil
		})
		require.NoError(t, err)
		require.NoError(t, e.svc.Delete(ctx, 7, deleted.ID))
		e.start()

		ds := e.waitDeliveries(7, disabled.ID, 1)
		assert.Equal(t, webhook.StatusFailed, ds[0].Status)
		assert.Equal(t, "the policy was disabled", ds[0].LastError)
		assert.Zero(t, ds[0].Attempts)
		ds = e.waitDeliveries(7, moved.ID, 1)
		assert.Equal(t, "the target was removed from the policy", ds[0].LastError)
		_, total, err := e.svc.Deliveries(ctx, 7, 0, core.Page{})
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		time.Sleep(100 * time.Millisecond) // the deleted policy's job has had its turn
		assert.Zero(t, rcv.count())
	})
}
