package replicate

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/berthlabs/berth/internal/pace"
)

// Bounds on what a remote registry may send.
const (
	maxManifestSize = 4 << 20
	maxReferrers    = 1000
	referrerDepth   = 4
	// DefaultChunkSize is the size of each PATCH of a blob upload.
	DefaultChunkSize = 128 << 20
)

// Result counts what one copy did.
type Result struct {
	Digest       string // of the artifact copied
	Skipped      bool   // its manifest was already at the destination
	Bytes        int64  // blob and manifest bytes sent to the destination
	BlobsCopied  int
	BlobsSkipped int // already at the destination
	BlobsMounted int // mounted from another repository of the destination
	Manifests    int // manifests written
	Referrers    int // referrer manifests copied
}

func (r *Result) add(o *Result) {
	r.Bytes += o.Bytes
	r.BlobsCopied += o.BlobsCopied
	r.BlobsSkipped += o.BlobsSkipped
	r.BlobsMounted += o.BlobsMounted
	r.Manifests += o.Manifests
	r.Referrers += o.Referrers
}

// counters is a Result filled in concurrently.
type counters struct {
	bytes, copied, skipped, mounted, manifests, referrers atomic.Int64
	logf                                                  func(format string, args ...any)
}

func (c *counters) log(format string, args ...any) { c.logf(format, args...) }

func (c *counters) result() Result {
	return Result{Bytes: c.bytes.Load(), BlobsCopied: int(c.copied.Load()), BlobsSkipped: int(c.skipped.Load()),
		BlobsMounted: int(c.mounted.Load()), Manifests: int(c.manifests.Load()), Referrers: int(c.referrers.Load())}
}

// Copier copies artifacts, with their referrers, from one registry to
// another: only what the destination lacks moves.
type Copier struct {
	src, dst   *conn
	chunk      int64
	blobJobs   int
	limit      *pace.Limiter
	logf       func(format string, args ...any)
	retries    int
	backoff    time.Duration
	where      sync.Map // blob digest → a destination repository that holds it (for mounts)
	inflight   sync.Map // blob digest → *sync.Mutex held while it is copied
	sessionKey string
	sessions   SessionStore
	noRefsAPI  atomic.Bool
	srcLabels  SourceLabels
	// The chart repositories of the two endpoints.
	srcCharts, dstCharts *chartClient
}

// SourceLabels gives the names of the labels (Harbor's, package label)
// that an artifact of the source registry carries; repo is the
// repository's full name ("library/app"). A label store behind a small
// adapter implements it for the local registry.
type SourceLabels interface {
	LabelNames(ctx context.Context, repo string, d digest.Digest) ([]string, error)
}

// WithSourceLabels makes the label filters of a policy also match the
// labels l says a source artifact carries: a filter "prod" (no '=')
// selects an artifact labelled "prod" (see MatchLabelledArtifact). Give
// it only when l describes the source (the local registry of a push
// policy); l is asked once per artifact a label filter judges.
func WithSourceLabels(l SourceLabels) CopyOption { return func(c *Copier) { c.srcLabels = l } }

// CopyOption configures a Copier.
type CopyOption func(*Copier)

// WithChunkSize sets the size of each PATCH of a blob upload (default
// DefaultChunkSize); an interrupted upload resumes from the last chunk the
// destination acknowledged.
func WithChunkSize(n int64) CopyOption { return func(c *Copier) { c.chunk = n } }

// WithBandwidth limits the copier to kbps kilobytes (1024 bytes) per
// second, all blobs together; 0 is unlimited.
func WithBandwidth(kbps int) CopyOption {
	return func(c *Copier) {
		if kbps > 0 {
			c.limit = pace.New(float64(kbps) * 1024)
		}
	}
}

// WithBlobConcurrency sets how many blobs of one artifact move at once
// (default 4).
func WithBlobConcurrency(n int) CopyOption { return func(c *Copier) { c.blobJobs = max(n, 1) } }

// WithLog receives the copier's progress lines.
func WithLog(f func(format string, args ...any)) CopyOption { return func(c *Copier) { c.logf = f } }

// WithResumes sets how many times one blob upload resumes after a failure
// (default 6), waiting base, 2·base, 4·base… (at most 30s) or what a
// Retry-After asked for.
func WithResumes(n int, base time.Duration) CopyOption {
	return func(c *Copier) { c.retries, c.backoff = n, base }
}

// NewCopier returns a copier from src to dst.
func NewCopier(src, dst *Endpoint, opts ...CopyOption) (*Copier, error) {
	c := &Copier{chunk: DefaultChunkSize, blobJobs: 4, logf: func(string, ...any) {}, retries: 6, backoff: time.Second,
		sessions: &memSessions{}}
	for _, o := range opts {
		o(c)
	}
	var err error
	if c.src, err = dial(src, 2*time.Minute); err != nil {
		return nil, err
	}
	if c.dst, err = dial(dst, 2*time.Minute); err != nil {
		return nil, err
	}
	if c.srcCharts, err = newChartClient(src); err != nil {
		return nil, err
	}
	if c.dstCharts, err = newChartClient(dst); err != nil {
		return nil, err
	}
	if c.chunk < 1<<20 {
		c.chunk = 1 << 20
	}
	c.sessionKey = dst.URL
	return c, nil
}

// Copy copies the artifact srcRepo:ref (a tag or a digest) to dstRepo,
// tagged with tags (none: only by digest). An existing destination tag
// pointing elsewhere is replaced only with override.
func (c *Copier) Copy(ctx context.Context, srcRepo, ref, dstRepo string, tags []string, override bool) (Result, error) {
	n := counters{logf: c.logf}
	d, err := c.copyArtifact(ctx, &n, srcRepo, ref, dstRepo, tags, override)
	res := n.result()
	res.Digest = d
	res.Skipped = d != "" && res.Manifests == 0 && res.Referrers == 0 && err == nil
	return res, err
}

func (c *Copier) copyArtifact(ctx context.Context, n *counters, srcRepo, ref, dstRepo string, tags []string, override bool) (string, error) {
	m, err := c.fetchManifest(ctx, srcRepo, ref)
	if err != nil {
		return "", err
	}
	if !override && len(tags) > 0 {
		// Tags that point elsewhere at the destination are kept; an
		// artifact all of whose tags are kept is not copied at all.
		var free []string
		for _, tag := range tags {
			cur, err := c.dst.headManifest(ctx, dstRepo, tag)
			switch {
			case isStatus(err, http.StatusNotFound) || (err == nil && cur == m.digest):
				free = append(free, tag)
			case err != nil:
				return m.digest.String(), err
			default:
				n.log("%s:%s points at %s at the destination; kept (override is off)", dstRepo, tag, cur)
			}
		}
		if len(free) == 0 {
			return m.digest.String(), nil
		}
		tags = free
	}
	exists, err := c.dst.manifestExists(ctx, dstRepo, m.digest.String())
	if err != nil {
		return m.digest.String(), err
	}
	if exists {
		n.log("%s@%s is already at the destination as %s: skipped", srcRepo, m.digest, dstRepo)
	} else {
		// Write the manifest by its first tag when that tag may be set,
		// so its bytes move once.
		put := m.digest.String()
		if len(tags) > 0 {
			cur, err := c.dst.headManifest(ctx, dstRepo, tags[0])
			if isStatus(err, http.StatusNotFound) || (err == nil && override) {
				put = tags[0]
			} else if err != nil {
				return m.digest.String(), err
			} else if cur == m.digest {
				put = tags[0]
			}
		}
		if err := c.copyTree(ctx, n, srcRepo, dstRepo, m, put, 0); err != nil {
			return m.digest.String(), err
		}
	}
	if err := c.copyReferrers(ctx, n, srcRepo, dstRepo, m, 0); err != nil {
		return m.digest.String(), err
	}
	for _, tag := range tags {
		if err := c.tag(ctx, n, dstRepo, tag, m, override); err != nil {
			return m.digest.String(), err
		}
	}
	return m.digest.String(), nil
}

// tag points dstRepo:tag at m unless it already does, or points elsewhere
// and override is off.
func (c *Copier) tag(ctx context.Context, n *counters, dstRepo, tag string, m *raw, override bool) error {
	cur, err := c.dst.headManifest(ctx, dstRepo, tag)
	switch {
	case err != nil && !isStatus(err, http.StatusNotFound):
		return err
	case err == nil && cur == m.digest:
		return nil
	case err == nil && !override:
		n.log("%s:%s points at %s at the destination; kept (override is off)", dstRepo, tag, cur)
		return nil
	}
	if err := c.dst.putManifest(ctx, dstRepo, tag, m); err != nil {
		return err
	}
	n.bytes.Add(int64(len(m.body)))
	n.manifests.Add(1)
	n.log("tagged %s:%s → %s", dstRepo, tag, m.digest)
	return nil
}

// copyTree copies what m references, then m itself as put (its digest or
// a tag).
func (c *Copier) copyTree(ctx context.Context, n *counters, srcRepo, dstRepo string, m *raw, put string, depth int) error {
	if depth > 8 {
		return fmt.Errorf("%s: indexes nested deeper than 8", m.digest)
	}
	var blobs []descriptor
	if m.parsed.Config != nil {
		blobs = append(blobs, *m.parsed.Config)
	}
	for _, l := range m.parsed.Layers {
		if len(l.URLs) > 0 && strings.Contains(l.MediaType, "foreign") {
			n.log("layer %s is non-distributable (foreign URLs): not copied", l.Digest)
			continue
		}
		blobs = append(blobs, l)
	}
	for _, child := range m.parsed.Manifests {
		if !isManifestType(child.MediaType) {
			blobs = append(blobs, child)
			continue
		}
		ok, err := c.dst.manifestExists(ctx, dstRepo, child.Digest.String())
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		cm, err := c.fetchManifest(ctx, srcRepo, child.Digest.String())
		if err != nil {
			return err
		}
		if err := c.copyTree(ctx, n, srcRepo, dstRepo, cm, cm.digest.String(), depth+1); err != nil {
			return err
		}
		if err := c.copyReferrers(ctx, n, srcRepo, dstRepo, cm, 0); err != nil {
			return err
		}
	}
	if err := c.copyBlobs(ctx, n, srcRepo, dstRepo, blobs); err != nil {
		return err
	}
	if err := c.dst.putManifest(ctx, dstRepo, put, m); err != nil {
		return err
	}
	n.bytes.Add(int64(len(m.body)))
	n.manifests.Add(1)
	n.log("copied manifest %s (%s, %d bytes) to %s as %s", m.digest, m.mediaType, len(m.body), dstRepo, put)
	return nil
}

// copyReferrers copies the referrers of m (signatures, SBOMs, reports)
// that the destination lacks, and theirs in turn.
func (c *Copier) copyReferrers(ctx context.Context, n *counters, srcRepo, dstRepo string, m *raw, depth int) error {
	if depth >= referrerDepth {
		return nil
	}
	refs, err := c.src.referrers(ctx, srcRepo, m.digest)
	if err != nil {
		return fmt.Errorf("listing the referrers of %s@%s: %w", srcRepo, m.digest, err)
	}
	for _, r := range refs {
		ok, err := c.dst.manifestExists(ctx, dstRepo, r.Digest.String())
		if err != nil {
			return err
		}
		rm, err := c.fetchManifest(ctx, srcRepo, r.Digest.String())
		if err != nil {
			return err
		}
		if !ok {
			if err := c.copyTree(ctx, n, srcRepo, dstRepo, rm, rm.digest.String(), 0); err != nil {
				return err
			}
			n.referrers.Add(1)
			n.log("copied referrer %s (%s) of %s", r.Digest, r.ArtifactType, m.digest)
		}
		if err := c.copyReferrers(ctx, n, srcRepo, dstRepo, rm, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (c *Copier) copyBlobs(ctx context.Context, n *counters, srcRepo, dstRepo string, blobs []descriptor) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.blobJobs)
	seen := map[digest.Digest]bool{}
	for _, b := range blobs {
		if seen[b.Digest] {
			continue
		}
		seen[b.Digest] = true
		g.Go(func() error { return c.copyBlob(gctx, n, srcRepo, dstRepo, b) })
	}
	return g.Wait()
}

// copyWith is Copy with its own log, for one task of an execution.
func (c *Copier) copyWith(ctx context.Context, logf func(string, ...any), srcRepo, ref, dstRepo string, tags []string, override bool) (Result, error) {
	n := counters{logf: logf}
	d, err := c.copyArtifact(ctx, &n, srcRepo, ref, dstRepo, tags, override)
	res := n.result()
	res.Digest = d
	res.Skipped = d != "" && res.Manifests == 0 && res.Referrers == 0 && err == nil
	return res, err
}

// syncReferrers copies the referrers of srcRepo@d that dstRepo lacks,
// when dstRepo holds d; it is how a signature pushed after its image was
// replicated follows it.
func (c *Copier) syncReferrers(ctx context.Context, logf func(string, ...any), srcRepo string, d digest.Digest, dstRepo string) (Result, error) {
	n := counters{logf: logf}
	ok, err := c.dst.manifestExists(ctx, dstRepo, d.String())
	if err != nil || !ok {
		if err == nil {
			logf("%s@%s is not at the destination: its referrers wait for it", dstRepo, d)
		}
		return Result{}, err
	}
	m, err := c.fetchManifest(ctx, srcRepo, d.String())
	if err != nil {
		return Result{}, err
	}
	err = c.copyReferrers(ctx, &n, srcRepo, dstRepo, m, 0)
	return n.result(), err
}

// remove deletes dstRepo@d or dstRepo:tag at the destination; what is
// already gone is fine.
func (c *Copier) remove(ctx context.Context, logf func(string, ...any), dstRepo, ref string) error {
	cl, err := c.dst.client(ctx, dstRepo, true, "")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.dst.url("/v2/"+dstRepo+"/manifests/"+ref), nil)
	if err != nil {
		return err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK, http.StatusNoContent:
		resp.Body.Close()
		logf("deleted %s:%s at the destination", dstRepo, ref)
		return nil
	case http.StatusNotFound:
		resp.Body.Close()
		logf("%s:%s is not at the destination: nothing to delete", dstRepo, ref)
		return nil
	}
	return unexpected("deleting "+dstRepo+":"+ref, resp)
}
