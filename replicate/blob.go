package replicate

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/internal/pace"
)

// copyBlob makes b readable in dstRepo at the destination: nothing if it
// is there, a mount if another destination repository holds it, else a
// chunked upload of the source's bytes, checked against b's digest before
// the destination commits them.
func (c *Copier) copyBlob(ctx context.Context, n *counters, srcRepo, dstRepo string, b descriptor) error {
	if err := b.Digest.Validate(); err != nil {
		return err
	}
	dcl, err := c.dst.client(ctx, dstRepo, true, "")
	if err != nil {
		return err
	}
	if ok, err := c.dst.blobExists(ctx, dcl, dstRepo, b.Digest); err != nil {
		return err
	} else if ok {
		n.skipped.Add(1)
		c.where.Store(b.Digest, dstRepo)
		return nil
	}
	// One copy of a blob at a time in this execution: the others then
	// find it, or mount it from where the first put it.
	mu, _ := c.inflight.LoadOrStore(b.Digest, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	from, known := c.where.Load(b.Digest)
	fromRepo, _ := from.(string)
	if known && fromRepo == dstRepo {
		n.skipped.Add(1)
		return nil
	}
	var s session
	resuming := false
	if loc, off, state, ok := c.sessions.LoadSession(ctx, c.key(dstRepo, b.Digest)); ok {
		s, resuming = session{loc: loc, ck: checkpoint{off: off, state: state}}, true
		n.log("blob %s: resuming the upload an earlier attempt left at byte %d", b.Digest, off)
	} else {
		loc, mounted, err := c.startUpload(ctx, dstRepo, b.Digest, fromRepo)
		if err != nil {
			return err
		}
		if mounted {
			n.mounted.Add(1)
			c.where.Store(b.Digest, dstRepo)
			n.log("mounted blob %s into %s", b.Digest, dstRepo)
			return nil
		}
		s = session{loc: loc}
	}
	if err := c.upload(ctx, n, srcRepo, dstRepo, b, &s, resuming); err != nil {
		return fmt.Errorf("blob %s: %w", b.Digest, err)
	}
	n.copied.Add(1)
	c.where.Store(b.Digest, dstRepo)
	n.log("copied blob %s (%d bytes) to %s", b.Digest, b.Size, dstRepo)
	return nil
}

func (c *conn) blobExists(ctx context.Context, cl *http.Client, repo string, d digest.Digest) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.url("/v2/"+repo+"/blobs/"+d.String()), nil)
	if err != nil {
		return false, err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, unexpected("HEAD blob "+repo+"@"+d.String(), resp)
}

// startUpload opens an upload session in repo, first trying a mount from
// from when it is set; mounted reports a mount that succeeded.
func (c *Copier) startUpload(ctx context.Context, repo string, d digest.Digest, from string) (loc string, mounted bool, err error) {
	noMount := from == "-"
	if from == repo || noMount {
		from = ""
	}
	cl, err := c.dst.client(ctx, repo, true, from)
	if err != nil {
		return "", false, err
	}
	u := c.dst.url("/v2/" + repo + "/blobs/uploads/")
	// A mount from where this copier put the blob; else a mount with no
	// source, which registries that support it (berth) satisfy from any
	// repository the caller may read, and others answer with a session.
	switch {
	case noMount:
	case from != "":
		u += "?" + url.Values{"mount": {d.String()}, "from": {from}}.Encode()
	default:
		u += "?" + url.Values{"mount": {d.String()}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, http.NoBody)
	if err != nil {
		return "", false, err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return "", false, err
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		resp.Body.Close()
		return "", true, nil
	case http.StatusAccepted:
		resp.Body.Close()
		loc, err := resolve(req.URL, resp.Header.Get("Location"))
		return loc, false, err
	}
	return "", false, unexpected("starting an upload in "+repo, resp)
}

func resolve(base *url.URL, loc string) (string, error) {
	if loc == "" {
		return "", fmt.Errorf("upload answer without a Location")
	}
	u, err := base.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("upload Location %q: %w", loc, err)
	}
	return u.String(), nil
}

// newHash returns the hash of d's algorithm (sha256 or sha512).
func newHash(d digest.Digest) (hash.Hash, error) {
	switch d.Algorithm() {
	case digest.SHA256:
		return sha256.New(), nil
	case digest.SHA512:
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("digest algorithm %q is not supported", d.Algorithm())
}

// checkpoint is the hash state at an offset the destination acknowledged.
type checkpoint struct {
	off   int64
	state []byte
}

func mark(h hash.Hash, off int64) (checkpoint, error) {
	st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	return checkpoint{off: off, state: st}, err
}

// session is an upload in progress at the destination: its location and
// the hash state at the last offset the destination acknowledged. A
// copier keeps them, so a later attempt resumes instead of starting over.
type session struct {
	loc string
	ck  checkpoint
}

// errCorrupt marks content the source sent that does not match its
// digest: not worth retrying from the same source at once.
type errCorrupt struct{ msg string }

func (e *errCorrupt) Error() string { return e.msg }

// upload sends b's bytes from the source to the destination in chunks,
// from the session s (new, or left by an earlier attempt). After a failure
// it asks the destination how much it holds and resumes there (restoring
// the hash state of the last acknowledged chunk and hashing the source
// bytes between), or starts a new session when the destination lost or
// cannot resume this one. The bytes are checked against b's digest before
// the destination is asked to commit them.
func (c *Copier) upload(ctx context.Context, n *counters, srcRepo, dstRepo string, b descriptor, s *session, resuming bool) error {
	key := c.key(dstRepo, b.Digest)
	save := func() { c.sessions.SaveSession(ctx, key, s.loc, s.ck.off, s.ck.state) }
	dcl, err := c.dst.client(ctx, dstRepo, true, "")
	if err != nil {
		return err
	}
	h, err := newHash(b.Digest)
	if err != nil {
		return err
	}
	if s.ck.state == nil {
		if s.ck, err = mark(h, 0); err != nil {
			return err
		}
		save()
	}
	var src io.ReadCloser
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	closeSrc := func() {
		if src != nil {
			src.Close()
			src = nil
		}
	}
	restart := func() error {
		closeSrc()
		loc, _, err := c.startUpload(ctx, dstRepo, b.Digest, "-")
		if err != nil {
			return err
		}
		h, _ = newHash(b.Digest)
		ck, _ := mark(h, 0)
		*s = session{loc: loc, ck: ck}
		save()
		return nil
	}
	off, failures, lastErr := int64(0), 0, error(nil)
	needResume := resuming
	for {
		var err error
		if needResume {
			needResume = false
			if err = c.resume(ctx, dcl, srcRepo, b, s, &h, &src, &off, lastErr, restart); err == nil {
				if off > 0 {
					n.log("blob %s: resuming at byte %d of %d, which the destination holds", b.Digest, off, b.Size)
				} else {
					n.log("blob %s: the destination cannot resume the upload; starting it over", b.Digest)
				}
			}
		}
		if err == nil && off == b.Size {
			break
		}
		if err == nil && src == nil {
			src, err = c.openSource(ctx, srcRepo, b.Digest, off)
		}
		if err == nil {
			size := min(c.chunk, b.Size-off)
			body := &countingReader{r: io.TeeReader(io.LimitReader(src, size), h), n: n, limit: c.limit, ctx: ctx}
			var next string
			if next, err = c.patch(ctx, dcl, s.loc, off, size, body); err == nil {
				off += size
				ck, err := mark(h, off)
				if err != nil {
					return err
				}
				*s = session{loc: next, ck: ck}
				save()
				failures = 0
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failures++
		if failures > c.retries {
			return err
		}
		closeSrc()
		n.log("blob %s: %v; resuming (attempt %d of %d)", b.Digest, err, failures, c.retries)
		if err := sleep(ctx, c.wait(err, failures)); err != nil {
			return err
		}
		lastErr, needResume = err, true
	}
	c.sessions.DeleteSession(ctx, key)
	if got := digest.NewDigest(b.Digest.Algorithm(), h); got != b.Digest {
		c.cancelUpload(ctx, dcl, s.loc)
		return &errCorrupt{fmt.Sprintf("the source sent %d bytes whose digest is %s, not %s: not committed", b.Size, got, b.Digest)}
	}
	return c.commit(ctx, n, dcl, dstRepo, s.loc, b.Digest)
}

// resume asks the destination how much of session s it holds and sets
// up h, src and off to continue there; or restarts the session.
func (c *Copier) resume(ctx context.Context, dcl *http.Client, srcRepo string, b descriptor, s *session, h *hash.Hash,
	src *io.ReadCloser, off *int64, lastErr error, restart func() error) error {
	held, err := c.uploadOffset(ctx, dcl, s.loc)
	switch {
	case isStatus(lastErr, http.StatusRequestedRangeNotSatisfiable) || (err != nil && lostSession(err)):
		// The session is gone, or the destination cannot resume it.
		*off = 0
		return restart()
	case err != nil:
		return err
	case held < s.ck.off || held > b.Size:
		*off = 0
		return restart()
	}
	nh, _ := newHash(b.Digest)
	if err := nh.(encoding.BinaryUnmarshaler).UnmarshalBinary(s.ck.state); err != nil {
		return err
	}
	rc, err := c.openSource(ctx, srcRepo, b.Digest, s.ck.off)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(nh, rc, held-s.ck.off); err != nil {
		rc.Close()
		return fmt.Errorf("reading the source: %w", err)
	}
	*h, *src, *off = nh, rc, held
	ck, err := mark(nh, held)
	if err != nil {
		return err
	}
	s.ck = ck
	return nil
}

// key names an upload session of this copier's destination.
func (c *Copier) key(repo string, d digest.Digest) string {
	return c.sessionKey + "/" + repo + "@" + d.String()
}

// lostSession tells a status answer saying the destination no longer
// knows the session (any 4xx but 429).
func lostSession(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.status >= 400 && se.status < 500 && se.status != http.StatusTooManyRequests
}

// wait is how long to wait after the failures-th failure in a row.
func (c *Copier) wait(err error, failures int) time.Duration {
	d := min(c.backoff<<(failures-1), 30*time.Second)
	if se, ok := err.(*statusError); ok && se.retryAfter > d {
		d = min(se.retryAfter, 5*time.Minute)
	}
	return d
}

func (c *Copier) openSource(ctx context.Context, repo string, d digest.Digest, off int64) (io.ReadCloser, error) {
	cl, err := c.src.client(ctx, repo, false, "")
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.src.url("/v2/"+repo+"/blobs/"+d.String()), nil)
	if err != nil {
		return nil, err
	}
	if off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the source: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		return resp.Body, nil
	case resp.StatusCode == http.StatusOK:
		if off > 0 { // no range support: skip what we have
			if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("reading the source: %w", err)
			}
		}
		return resp.Body, nil
	}
	return nil, unexpected("reading blob "+repo+"@"+d.String(), resp)
}

// patch sends one chunk; it returns the session's next location.
func (c *Copier) patch(ctx context.Context, cl *http.Client, loc string, off, size int64, body io.Reader) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc, io.NopCloser(body))
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+size-1))
	resp, err := cl.Do(req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNoContent {
		return "", unexpected("uploading a chunk", resp)
	}
	resp.Body.Close()
	if resp.Header.Get("Location") == "" {
		return loc, nil
	}
	return resolve(req.URL, resp.Header.Get("Location"))
}

// uploadOffset asks the destination how many bytes the session holds.
func (c *Copier) uploadOffset(ctx context.Context, cl *http.Client, loc string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return 0, err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return 0, unexpected("upload status", resp)
	}
	resp.Body.Close()
	rng := resp.Header.Get("Range")
	if rng == "" {
		return 0, nil
	}
	_, end, ok := strings.Cut(strings.TrimPrefix(rng, "bytes="), "-")
	e, err := strconv.ParseInt(end, 10, 64)
	if !ok || err != nil || e < -1 {
		return 0, fmt.Errorf("upload status: malformed Range %q", rng)
	}
	if rng == "0-0" {
		// Registries answer 0-0 for an empty session; a session holding
		// one byte is told apart by the 416 its next chunk gets.
		return 0, nil
	}
	return e + 1, nil
}

// commit asks the destination to commit the session as d, retrying a
// failed answer: if an earlier try went through, the blob is there.
func (c *Copier) commit(ctx context.Context, n *counters, cl *http.Client, repo, loc string, d digest.Digest) error {
	u, err := url.Parse(loc)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	for attempt := 1; ; attempt++ {
		err = c.commitOnce(ctx, cl, u.String())
		if err == nil {
			return nil
		}
		if ok, herr := c.dst.blobExists(ctx, cl, repo, d); herr == nil && ok {
			return nil
		}
		var corrupt *statusError
		if errors.As(err, &corrupt) && corrupt.status == http.StatusBadRequest {
			return err // the destination refused the content (digest mismatch)
		}
		if attempt > c.retries || ctx.Err() != nil {
			return err
		}
		n.log("blob %s: committing: %v; retrying", d, err)
		if err := sleep(ctx, c.wait(err, attempt)); err != nil {
			return err
		}
	}
}

func (c *Copier) commitOnce(ctx context.Context, cl *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, http.NoBody)
	if err != nil {
		return err
	}
	req.ContentLength = 0
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusAccepted {
		return unexpected("committing the upload", resp)
	}
	resp.Body.Close()
	return nil
}

func (c *Copier) cancelUpload(ctx context.Context, cl *http.Client, loc string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc, nil)
	if err != nil {
		return
	}
	if resp, err := cl.Do(req); err == nil {
		resp.Body.Close()
	}
}

// countingReader counts the bytes read into a chunk and applies the
// bandwidth limit.
type countingReader struct {
	ctx   context.Context
	r     io.Reader
	n     *counters
	limit *pace.Limiter
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.limit != nil && len(p) > 32<<10 {
		p = p[:32<<10]
	}
	k, err := r.r.Read(p)
	if k > 0 {
		r.n.bytes.Add(int64(k))
		if r.limit != nil {
			if werr := r.limit.Wait(r.ctx, k); werr != nil {
				return k, werr
			}
		}
	}
	return k, err
}
