package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/proxy/fanout"
	"github.com/berthlabs/berth/proxy/upstream"
)

// RefreshManifest brings repo's ref up to date from its upstream before the
// registry serves it: a digest held locally is served as is; a tag is
// checked with a HEAD (which Docker Hub does not count as a pull) and its
// manifest fetched when it moved. When the upstream cannot answer, the
// cached copy is served with a warning; an error reaches the client only
// when there is no copy.
func (c *Cache) RefreshManifest(ctx context.Context, repo, ref string) (string, error) {
	t, ok, err := c.resolve(ctx, repo)
	if err != nil || !ok {
		return "", err
	}
	// Concurrent pulls of one reference make one upstream round; each
	// caller still gets its own answer once it is done. The refresh is
	// detached from the first caller, so its hanging up cuts no one short.
	ch := c.manifests.DoChan(repo+"@"+ref, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*c.timeout)
		defer cancel()
		w, err := c.refresh(rctx, t, ref)
		return w, err
	})
	select {
	case res := <-ch:
		w, _ := res.Val.(string)
		return w, res.Err
	case <-ctx.Done():
		return "", nil // the client left; the refresh goes on for the others
	}
}

func (c *Cache) refresh(ctx context.Context, t target, ref string) (string, error) {
	local, cached, err := c.localManifest(ctx, t.repo, ref)
	if err != nil {
		return "", err
	}
	isDigest := strings.Contains(ref, ":")
	if cached && isDigest {
		return "", nil // content by digest never changes
	}
	var (
		m    upstream.Manifest
		held bool // m is the registry's own copy, under another reference
	)
	if isDigest {
		m, err = t.client.Manifest(ctx, t.upRepo, ref)
	} else {
		var desc upstream.Descriptor
		desc, err = t.client.Head(ctx, t.upRepo, ref)
		if err == nil && cached && desc.Digest == local {
			return "", nil // the tag has not moved
		}
		if err == nil {
			// Moved to content already held (a tag moved back, or a new tag
			// of a known image): no pull counted against the upstream.
			if m, held, err = c.heldManifest(ctx, t.repo, desc.Digest); err == nil && !held {
				m, err = t.client.Manifest(ctx, t.upRepo, desc.Digest.String())
			}
		}
	}
	if err != nil {
		return c.upstreamFailed(ctx, t, ref, cached, err)
	}
	if err := c.storeManifest(ctx, t.repo, ref, m); err != nil {
		if cached {
			c.stats.stale.Add(1)
			return "serving the cached copy: " + err.Error(), nil
		}
		return "", err
	}
	if held {
		return "", nil
	}
	// Its signatures and attestations come along, so that a content
	// trust policy can judge the very first pull.
	if err := c.refreshReferrers(ctx, t, m.Digest); err != nil {
		c.log.InfoContext(ctx, "proxy: fetching the referrers of a new manifest", "repository", t.repo,
			"digest", m.Digest.String(), "err", err)
	}
	return "", nil
}

// upstreamFailed decides what a pull gets when the upstream failed: the
// cached copy, marked stale, or an error naming the upstream.
func (c *Cache) upstreamFailed(ctx context.Context, t target, ref string, cached bool, err error) (string, error) {
	c.stats.upstreamErrors.Add(1)
	gone := errors.Is(err, core.ErrNotFound)
	if cached && gone && !c.serveDeleted {
		if derr := c.deleteLocalTag(ctx, t.repo, ref); derr != nil {
			c.log.WarnContext(ctx, "proxy: removing a tag the upstream deleted", "repository", t.repo, "tag", ref, "err", derr)
		}
		return "", answer(err, "MANIFEST_UNKNOWN")
	}
	if cached {
		c.stats.stale.Add(1)
		c.log.InfoContext(ctx, "proxy: serving a cached manifest, the upstream failed", "repository", t.repo,
			"reference", ref, "err", err)
		return "serving the cached copy: " + err.Error(), nil
	}
	return "", answer(err, "MANIFEST_UNKNOWN")
}

// answer turns an upstream failure into the client's response: absence
// (or a refusal, which is how Docker Hub answers for a repository that
// does not exist) is 404; the project's own limit is 429 with
// Retry-After; wrong content from the upstream is 502; an outage 503. The
// message names the upstream.
func answer(err error, notFoundCode string) error {
	var se *core.StatusError
	if errors.As(err, &se) {
		return err
	}
	if !errors.Is(err, core.ErrNotFound) && !errors.Is(err, core.ErrDenied) &&
		!errors.Is(err, core.ErrInvalid) && !errors.Is(err, core.ErrUnavailable) {
		return err // not the upstream's: an internal error
	}
	out := &core.StatusError{Status: http.StatusServiceUnavailable, Code: "UNAVAILABLE", Message: err.Error()}
	switch {
	case errors.Is(err, upstream.ErrBusy), errors.Is(err, fanout.ErrBusy):
		out.Status, out.Code = http.StatusTooManyRequests, "TOOMANYREQUESTS"
		out.Header = http.Header{"Retry-After": {"1"}}
	case errors.Is(err, core.ErrNotFound), errors.Is(err, core.ErrDenied):
		out.Status, out.Code = http.StatusNotFound, notFoundCode
	case errors.Is(err, core.ErrInvalid):
		out.Status = http.StatusBadGateway
	}
	if d, ok := upstream.RetryAfter(err); ok && out.Status >= 429 {
		out.Header = http.Header{"Retry-After": {strconv.Itoa(int((d + time.Second - 1) / time.Second))}}
	}
	return out
}

// RefreshReferrers stores the upstream's referrers of subject (signatures,
// SBOMs, attestations) that the registry lacks, so its referrers API and
// the trust gate see them. The registry lists what it holds whatever this
// returns.
func (c *Cache) RefreshReferrers(ctx context.Context, repo string, subject digest.Digest) (string, error) {
	t, ok, err := c.resolve(ctx, repo)
	if err != nil || !ok {
		return "", err
	}
	ch := c.manifests.DoChan(repo+"#referrers@"+subject.String(), func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 8*c.timeout)
		defer cancel()
		return nil, c.refreshReferrers(rctx, t, subject)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			c.stats.upstreamErrors.Add(1)
			return "", res.Err
		}
		return "", nil
	case <-ctx.Done():
		return "", nil
	}
}

func (c *Cache) refreshReferrers(ctx context.Context, t target, subject digest.Digest) error {
	idx, err := t.client.Referrers(ctx, t.upRepo, subject, "")
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return nil // the upstream has no such subject: nothing refers to it
		}
		return err
	}
	descs, err := referrerDigests(idx.Body)
	if err != nil {
		return err
	}
	if len(descs) > c.maxReferrers {
		descs = descs[:c.maxReferrers]
	}
	for _, d := range descs {
		if _, held, err := c.localManifest(ctx, t.repo, d.String()); err != nil {
			return err
		} else if held {
			continue
		}
		m, err := t.client.Manifest(ctx, t.upRepo, d.String())
		if err != nil {
			return err
		}
		if err := c.storeManifest(ctx, t.repo, d.String(), m); err != nil {
			return fmt.Errorf("referrer %s: %w", d, err)
		}
	}
	return nil
}
