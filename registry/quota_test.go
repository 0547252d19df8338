package registry

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixedQuotas limits every project to limit bytes and records notices.
type fixedQuotas struct {
	limit   int64
	mu      sync.Mutex
	notices []QuotaNotice
}

func (q *fixedQuotas) StorageLimit(context.Context, string) (int64, error) { return q.limit, nil }
func (q *fixedQuotas) QuotaNotice(_ context.Context, n QuotaNotice) {
	q.mu.Lock()
	q.notices = append(q.notices, n)
	q.mu.Unlock()
}

// recount is a project's usage computed from scratch, to check the
// running count against.
func (tr *testRegistry) recount(project string) int64 {
	tr.t.Helper()
	var n int64
	cond, args := inProject("repo", project)
	err := tr.rg.db.QueryRow(tr.t.Context(), `SELECT COALESCE(SUM(size), 0) FROM (
		SELECT DISTINCT digest, size FROM registry_repo_blobs WHERE `+cond+`
		UNION SELECT DISTINCT rm.digest, m.size FROM registry_repo_manifests rm JOIN registry_manifests m ON m.digest = rm.digest
			WHERE `+strings.ReplaceAll(cond, "repo", "rm.repo")+`) AS held`, append(args, args...)...).Scan(&n)
	require.NoError(tr.t, err)
	return n
}

func (tr *testRegistry) usage(project string) int64 {
	tr.t.Helper()
	n, err := tr.rg.ProjectUsage(tr.t.Context(), project)
	require.NoError(tr.t, err)
	return n
}

func imageBytes(img testImage) int64 {
	n := int64(len(img.Config) + len(img.Manifest))
	for _, l := range img.Layers {
		n += int64(len(l))
	}
	return n
}

func TestUsageCountsEachBlobOncePerProject(t *testing.T) {
	onEveryEngine(t, testUsageCountsEachBlobOncePerProject)
}

func testUsageCountsEachBlobOncePerProject(t *testing.T) {
	tr := newTestRegistry(t)
	img := tr.pushImage("p/a", "v1", 2)
	assert.Equal(t, imageBytes(img), tr.usage("p"))

	// The same image in another repository of the project: no more usage;
	// in another project: that project's.
	tr.pushImageBlobs("p/b", img)
	tr.pushManifest("p/b", "v1", v1.MediaTypeImageManifest, img.Manifest)
	tr.pushImageBlobs("q/c", img)
	tr.pushManifest("q/c", "v1", v1.MediaTypeImageManifest, img.Manifest)
	assert.Equal(t, imageBytes(img), tr.usage("p"))
	assert.Equal(t, imageBytes(img), tr.usage("q"))

	// Deleting p/a's copy frees nothing: p/b holds it all.
	require.NoError(t, tr.rg.DeleteRepository(t.Context(), "p/a"))
	assert.Equal(t, imageBytes(img), tr.usage("p"))
	// Deleting p/b's artifact frees its manifest; its blobs go with GC.
	require.NoError(t, tr.rg.DeleteArtifact(t.Context(), "p/b", img.Digest))
	assert.Equal(t, imageBytes(img)-int64(len(img.Manifest)), tr.usage("p"))
	assert.Equal(t, tr.recount("p"), tr.usage("p"))
	tr.advance(3 * time.Hour)
	require.Zero(t, tr.gc(GCOptions{}).BlobsDeleted, "q/c still references them")
	assert.Equal(t, tr.recount("p"), tr.usage("p"))
	require.NoError(t, tr.rg.DeleteRepository(t.Context(), "q/c"))
	tr.gc(GCOptions{})
	for _, p := range []string{"p", "q"} {
		assert.Zero(t, tr.usage(p), p)
		assert.Zero(t, tr.recount(p), p)
	}

	orphan := tr.pushBlob("p/x", randomBytes(100))
	assert.Equal(t, int64(100), tr.usage("p"))
	requireStatus(t, tr.do(http.MethodDelete, "/v2/p/x/blobs/"+orphan.String(), nil, nil), http.StatusAccepted)
	assert.Zero(t, tr.usage("p"))
}

func requireStatus(t *testing.T, r *response, status int) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
}

func TestQuotaRefusesWhatWouldExceedTheLimit(t *testing.T) {
	onEveryEngine(t, testQuotaRefusesWhatWouldExceedTheLimit)
}

func testQuotaRefusesWhatWouldExceedTheLimit(t *testing.T) {
	q := &fixedQuotas{limit: 1000}
	tr := newTestRegistry(t, WithQuotas(q))
	tr.pushBlob("p/app", randomBytes(900))
	assert.Len(t, q.notices, 1, "crossing 85 %")
	assert.False(t, q.notices[0].Exceeded)

	big := randomBytes(300)
	r := tr.do(http.MethodPost, "/v2/p/app/blobs/uploads/?digest="+digest.FromBytes(big).String(), big,
		hdr("Content-Type", "application/octet-stream"))
	requireError(t, r, http.StatusForbidden, CodeDenied)
	assert.Contains(t, string(r.Body), "Quota exceeded when processing the request of adding 300 B of storage resource, "+
		"which when updated to current usage of 900 B will exceed the configured upper limit of 1000 B.")
	tr.requireNoBlob("p/app", digest.FromBytes(big))
	assert.Equal(t, int64(900), tr.usage("p"), "nothing counted")
	require.Len(t, q.notices, 2)
	assert.True(t, q.notices[1].Exceeded)

	// The refused bytes are left to garbage collection.
	tr.advance(3 * time.Hour)
	assert.GreaterOrEqual(t, tr.gc(GCOptions{}).BlobsDeleted, 1)
	assert.False(t, tr.blobStored(digest.FromBytes(big)))
}

// Concurrent pushes into a project never take it over its limit.
func TestQuotaHoldsUnderConcurrentPushes(t *testing.T) {
	onEveryEngine(t, testQuotaHoldsUnderConcurrentPushes)
}

func testQuotaHoldsUnderConcurrentPushes(t *testing.T) {
	const limit, size, pushers = 10_000, 1000, 32
	tr := newTestRegistry(t, WithQuotas(&fixedQuotas{limit: limit}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range pushers {
		wg.Go(func() {
			b := randomBytes(size)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
				tr.srv.URL+"/v2/p/app"+string(rune('a'+i%26))+"/blobs/uploads/?digest="+digest.FromBytes(b).String(),
				strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := tr.srv.Client().Do(req)
			if !assert.NoError(t, err) {
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, limit/size, statuses[http.StatusCreated], "%v", statuses)
	assert.Equal(t, pushers-limit/size, statuses[http.StatusForbidden], "%v", statuses)
	assert.Equal(t, int64(limit), tr.usage("p"))
	assert.Equal(t, tr.recount("p"), tr.usage("p"))
}
