package trust_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/trust"
)

func TestStore(t *testing.T) { onEngines(t, testStore) }

func testStore(t *testing.T, db *sqldb.DB) {
	ctx := context.Background()
	st, err := trust.NewStore(ctx, db)
	require.NoError(t, err)
	k := ecKey(t)
	v0 := st.Version()

	e, err := st.AddEntry(ctx, "", "release", pubPEM(t, k))
	require.NoError(t, err)
	assert.Greater(t, st.Version(), v0)
	_, err = st.AddEntry(ctx, "", "release", pubPEM(t, k))
	assert.ErrorIs(t, err, trust.ErrExists)
	_, err = st.AddEntry(ctx, "p", "release", pubPEM(t, k)) // another store
	require.NoError(t, err)
	for _, bad := range []string{"", "junk", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		string(pubPEM(t, k)) + string(pubPEM(t, k))} {
		_, err = st.AddEntry(ctx, "p", "bad", []byte(bad))
		assert.ErrorIs(t, err, trust.ErrInvalid, bad)
	}
	_, err = st.AddEntry(ctx, "p", strings.Repeat("n", 200), pubPEM(t, k))
	assert.ErrorIs(t, err, trust.ErrInvalid)

	eff, err := st.Effective(ctx, "p")
	require.NoError(t, err)
	assert.Len(t, eff.Keys.Entries, 2, "the system's and the project's")
	assert.True(t, eff.Inherited)
	assert.Equal(t, trust.ModeOff, eff.Policy.Mode)

	require.NoError(t, st.SetPolicy(ctx, "", trust.Policy{Mode: trust.ModeAny}))
	eff2, err := st.Effective(ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, trust.ModeAny, eff2.Policy.Mode)
	assert.NotEqual(t, eff.Version, eff2.Version)

	require.NoError(t, st.SetPolicy(ctx, "p", trust.Policy{Mode: trust.ModeSigners, Signers: []string{"release", " release "}}))
	p, own, err := st.Policy(ctx, "p")
	require.NoError(t, err)
	assert.True(t, own)
	assert.Equal(t, trust.Policy{Mode: trust.ModeSigners, Format: trust.FormatEither, Signers: []string{"release"}}, p)
	assert.ErrorIs(t, st.SetPolicy(ctx, "p", trust.Policy{Mode: "strict"}), trust.ErrInvalid)

	require.NoError(t, st.ResetPolicy(ctx, "p"))
	eff3, err := st.Effective(ctx, "p")
	require.NoError(t, err)
	assert.True(t, eff3.Inherited)
	assert.Equal(t, trust.ModeAny, eff3.Policy.Mode)

	require.NoError(t, st.DeleteEntry(ctx, "", e.ID))
	assert.ErrorIs(t, st.DeleteEntry(ctx, "", e.ID), trust.ErrNotFound)
	assert.ErrorIs(t, st.DeleteEntry(ctx, "p", e.ID), trust.ErrNotFound, "an ID of another store")
	require.NoError(t, st.DeleteProject(ctx, "p"))
	entries, err := st.Entries(ctx, "p")
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestStoreLimit(t *testing.T) { onEngines(t, testStoreLimit) }

func testStoreLimit(t *testing.T, db *sqldb.DB) {
	ctx := context.Background()
	st, err := trust.NewStore(ctx, db)
	require.NoError(t, err)
	pem := mustKey()
	for i := range trust.MaxEntries {
		_, err := st.AddEntry(ctx, "p", "k"+itoa(i), pem)
		require.NoError(t, err)
	}
	_, err = st.AddEntry(ctx, "p", "one-more", pem)
	assert.ErrorIs(t, err, trust.ErrInvalid)
}

func TestStoreCacheTTL(t *testing.T) { onEngines(t, testStoreCacheTTL) }

func testStoreCacheTTL(t *testing.T, db *sqldb.DB) {
	ctx := context.Background()
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	st, err := trust.NewStore(ctx, db, trust.WithCacheTTL(time.Minute), trust.WithStoreClock(clock))
	require.NoError(t, err)
	a, err := st.Effective(ctx, "p")
	require.NoError(t, err)
	b, err := st.Effective(ctx, "p")
	require.NoError(t, err)
	assert.Equal(t, a.Version, b.Version, "served from memory")
	now.Add(int64(2 * time.Minute))
	c, err := st.Effective(ctx, "p")
	require.NoError(t, err)
	assert.NotEqual(t, a.Version, c.Version, "a reload after the TTL may hold another node's change")
}

// TestGateEvents checks that every way a signature disappears is seen at
// once: a tag deleted, a signature manifest deleted, a repository deleted.
func TestGateEvents(t *testing.T) { onEngines(t, testGateEvents) }

func testGateEvents(t *testing.T, db *sqldb.DB) {
	e := newEnvOn(t, db)
	ctx := context.Background()
	key := ecKey(t)
	e.addPEM(t, "", "release", pubPEM(t, key))
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})

	s := e.pushImage(t, "p/app", "v1")
	e.signCosign(t, s, key, false)
	status, _ := e.pull(t, "p/app", "v1")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, e.reg.DeleteTag(ctx, "p/app", trust.CosignTag(s.Digest)))
	status, _ = e.pull(t, "p/app", "v1")
	assert.Equal(t, http.StatusPreconditionFailed, status, "the .sig tag is gone")

	sig := e.signCosign(t, s, key, true)
	status, _ = e.pull(t, "p/app", "v1")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, e.reg.DeleteArtifact(ctx, "p/app", sig))
	status, _ = e.pull(t, "p/app", "v1")
	assert.Equal(t, http.StatusPreconditionFailed, status, "the referrer is gone")

	// A deleted repository pushed again under the same digest.
	e.signCosign(t, s, key, false)
	status, _ = e.pull(t, "p/app", "v1")
	require.Equal(t, http.StatusOK, status)
	img := e.save(t, s)
	require.NoError(t, e.reg.DeleteRepository(ctx, "p/app"))
	e.restore(t, s, img, "v1")
	status, _ = e.pull(t, "p/app", "v1")
	assert.Equal(t, http.StatusPreconditionFailed, status, "the same digest, pushed again, has lost its signature")
}

// saved is an image's bytes, to push it again.
type saved struct {
	manifest []byte
	blobs    [][]byte
}

func (e *env) save(t *testing.T, s trust.Subject) saved {
	ctx := context.Background()
	_, b, err := e.client.Manifest(ctx, s.Repository, s.Digest.String(), 1<<20)
	require.NoError(t, err)
	var m ocispec.Manifest
	require.NoError(t, json.Unmarshal(b, &m))
	out := saved{manifest: b}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		blob, err := e.client.Blob(ctx, s.Repository, d.Digest, 1<<20)
		require.NoError(t, err)
		out.blobs = append(out.blobs, blob)
	}
	return out
}

func (e *env) restore(t *testing.T, s trust.Subject, img saved, tag string) {
	ctx := context.Background()
	for _, b := range img.blobs {
		_, err := e.client.PushBlob(ctx, s.Repository, b)
		require.NoError(t, err)
	}
	d, err := e.client.PushManifest(ctx, s.Repository, tag, s.MediaType, img.manifest)
	require.NoError(t, err)
	require.Equal(t, s.Digest, d)
}

// slowSource blocks Referrers until released, to race an event against a
// decision being made.
type slowSource struct {
	trust.Source
	entered chan struct{}
	release chan struct{}
}

func (s *slowSource) Referrers(ctx context.Context, repo string, d digest.Digest, at string, n int) ([]ocispec.Descriptor, error) {
	if at == trust.ArtifactTypeCosignSig {
		s.entered <- struct{}{}
		<-s.release
	}
	return s.Source.Referrers(ctx, repo, d, at, n)
}

// TestGateEventDuringDecision: a decision made while a signature event
// arrives is not cached, so the next pull sees the new signature.
func TestGateEventDuringDecision(t *testing.T) {
	e := newEnv(t)
	key := ecKey(t)
	e.addPEM(t, "", "release", pubPEM(t, key))
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})
	s := e.pushImage(t, "p/app", "v1")

	slow := &slowSource{Source: e.client, entered: make(chan struct{}), release: make(chan struct{})}
	g := trust.NewGate(slow, e.store)
	done := make(chan trust.Decision)
	go func() {
		d, _, err := g.Check(context.Background(), s)
		assert.NoError(t, err)
		done <- d
	}()
	<-slow.entered
	// The signature lands (its event) while the decision is being made.
	e.signCosign(t, s, key, false)
	g.Emit(context.Background(), registry.Event{Action: registry.EventPush, Target: registry.TargetManifest,
		Repository: "p/app", Tag: trust.CosignTag(s.Digest)})
	close(slow.release)
	d := <-done
	assert.False(t, d.Allowed, "made before the signature was seen")
	go func() {
		for range slow.entered {
		}
	}()
	d2, _, err := g.Check(context.Background(), s)
	require.NoError(t, err)
	assert.True(t, d2.Allowed, "the stale refusal was not cached: %s", d2.Reason)
	close(slow.entered)
}

// TestReferrerPages: signatures beyond the first page of referrers count.
func TestReferrerPages(t *testing.T) {
	e := newEnv(t, registry.WithMaxPageSize(2))
	key := ecKey(t)
	e.addPEM(t, "", "release", pubPEM(t, key))
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})
	s := e.pushImage(t, "p/app", "v1")
	for range 4 {
		e.signCosign(t, s, ecKey(t), true)
	}
	e.signCosign(t, s, key, true)
	d, sigs, err := e.gate.Check(context.Background(), s)
	require.NoError(t, err)
	assert.Len(t, sigs, 5)
	assert.True(t, d.Allowed, d.Reason)
}

// countingSource counts discoveries (the cosign tag lookups).
type countingSource struct {
	trust.Source
	n atomic.Int32
}

func (s *countingSource) Manifest(ctx context.Context, repo, ref string, limit int64) (string, []byte, error) {
	if strings.HasSuffix(ref, ".sig") {
		s.n.Add(1)
		time.Sleep(20 * time.Millisecond) // long enough for the pulls to pile up
	}
	return s.Source.Manifest(ctx, repo, ref, limit)
}

// TestGateOneVerificationPerArtifact: concurrent pulls of one digest
// share one verification.
func TestGateOneVerificationPerArtifact(t *testing.T) {
	e := newEnv(t)
	key := ecKey(t)
	e.addPEM(t, "", "release", pubPEM(t, key))
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})
	s := e.pushImage(t, "p/app", "v1")
	e.signCosign(t, s, key, false)
	src := &countingSource{Source: e.client}
	g := trust.NewGate(src, e.store)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			d, _, err := g.Check(context.Background(), s)
			assert.NoError(t, err)
			assert.True(t, d.Allowed)
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), src.n.Load())
}

// Additions racing on PostgreSQL, where writers run side by side, keep a
// trust store's limit and its unique names: each counts what the others
// committed, and a name taken meanwhile is ErrExists, not a database
// error.
func TestConcurrentAddEntry(t *testing.T) {
	ctx := t.Context()
	db := openDB(t, "postgres")
	st, err := trust.NewStore(ctx, db)
	require.NoError(t, err)
	require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error { // one short of the limit
		_, err := tx.Exec(ctx, `INSERT INTO trust_entries (project, name, kind, key_id, pem, created)
			SELECT 'full', 'k' || i, 'cosign', '', '', 0 FROM generate_series(1, ?) AS i`, trust.MaxEntries-1)
		return err
	}))
	pem := mustKey()
	const n = 8
	add := func(project string, name func(i int) string) (added int, refused []error) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := st.AddEntry(ctx, project, name(i), pem)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					added++
				} else {
					refused = append(refused, err)
				}
			})
		}
		wg.Wait()
		return added, refused
	}
	added, refused := add("full", func(i int) string { return "new-" + itoa(i) })
	assert.Equal(t, 1, added, "room for one more")
	for _, err := range refused {
		assert.ErrorIs(t, err, trust.ErrInvalid)
	}
	added, refused = add("p", func(int) string { return "same" })
	assert.Equal(t, 1, added, "one name, one entry")
	for _, err := range refused {
		assert.ErrorIs(t, err, trust.ErrExists)
	}
}
