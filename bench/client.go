package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	mtOCIManifest  = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex     = "application/vnd.oci.image.index.v1+json"
	mtOCIConfig    = "application/vnd.oci.image.config.v1+json"
	mtOCILayer     = "application/vnd.oci.image.layer.v1.tar+gzip"
	mtDockerV2     = "application/vnd.docker.distribution.manifest.v2+json"
	mtDockerList   = "application/vnd.docker.distribution.manifest.list.v2+json"
	manifestAccept = mtOCIManifest + ", " + mtOCIIndex + ", " + mtDockerV2 + ", " + mtDockerList
)

// client is the one HTTP client used, unchanged, against every peer.
type client struct {
	hc                      *http.Client
	base                    string
	reqTimeout, blobTimeout time.Duration
	auth                    *credentials // nil: requests carry no Authorization
}

func newClient(base string, cfg *config) *client {
	tr := &http.Transport{
		Proxy:                 nil, // loopback only; ignore proxy env vars
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       256 << 10,
		ReadBufferSize:        256 << 10,
		ExpectContinueTimeout: 0,
	}
	return &client{hc: &http.Client{Transport: tr}, base: base, reqTimeout: cfg.reqTimeout, blobTimeout: cfg.blobTimeout}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// do sends one request bounded by timeout, checks the status, lets handle
// read the response (within the same deadline) and always drains and closes
// the body so the connection is reused.
func (c *client) do(ctx context.Context, timeout time.Duration, req *http.Request, want int, handle func(*http.Response) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req = req.WithContext(ctx)
	resp, err := c.send(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return fmt.Errorf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, strings.TrimSpace(string(b)))
	}
	if handle != nil {
		if err := handle(resp); err != nil {
			return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
	}
	return nil
}

func newReq(method, u string, body io.Reader, size int64, hdr ...string) *http.Request {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		panic(err) // URLs are built by this program
	}
	if body != nil {
		req.ContentLength = size
	} else {
		req.ContentLength = 0
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

// startUpload opens a blob upload session and returns its Location.
func (c *client) startUpload(ctx context.Context, repo string) (*url.URL, error) {
	var loc *url.URL
	req := newReq(http.MethodPost, c.base+"/v2/"+repo+"/blobs/uploads/", nil, 0)
	err := c.do(ctx, c.reqTimeout, req, http.StatusAccepted, func(r *http.Response) (err error) {
		loc, err = r.Location()
		return err
	})
	return loc, err
}

func withDigest(loc *url.URL, dgst string) string {
	u := *loc
	q := u.Query()
	q.Set("digest", dgst)
	u.RawQuery = q.Encode()
	return u.String()
}

func checkDigestHeader(r *http.Response, want string) error {
	if got := r.Header.Get("Docker-Content-Digest"); got != "" && got != want {
		return fmt.Errorf("Docker-Content-Digest %s, want %s", got, want)
	}
	return nil
}

// pushMonolithic is POST then one PUT ?digest= carrying the whole body.
func (c *client) pushMonolithic(ctx context.Context, repo, dgst string, body io.Reader, size int64) error {
	loc, err := c.startUpload(ctx, repo)
	if err != nil {
		return err
	}
	req := newReq(http.MethodPut, withDigest(loc, dgst), body, size, "Content-Type", "application/octet-stream")
	return c.do(ctx, c.blobTimeout, req, http.StatusCreated, func(r *http.Response) error { return checkDigestHeader(r, dgst) })
}

// pushChunked is POST, PATCHes of chunk bytes following Location, then PUT ?digest=.
func (c *client) pushChunked(ctx context.Context, repo, dgst string, data []byte, chunk int64) error {
	loc, err := c.startUpload(ctx, repo)
	if err != nil {
		return err
	}
	for off := int64(0); off < int64(len(data)); off += chunk {
		end := min(off+chunk, int64(len(data)))
		req := newReq(http.MethodPatch, loc.String(), bytes.NewReader(data[off:end]), end-off,
			"Content-Type", "application/octet-stream",
			"Content-Range", fmt.Sprintf("%d-%d", off, end-1))
		err := c.do(ctx, c.blobTimeout, req, http.StatusAccepted, func(r *http.Response) (err error) {
			if rg := r.Header.Get("Range"); rg != "" && rg != fmt.Sprintf("0-%d", end-1) {
				return fmt.Errorf("Range %q after writing up to %d", rg, end-1)
			}
			loc, err = r.Location()
			return err
		})
		if err != nil {
			return err
		}
	}
	req := newReq(http.MethodPut, withDigest(loc, dgst), nil, 0, "Content-Type", "application/octet-stream")
	return c.do(ctx, c.reqTimeout, req, http.StatusCreated, func(r *http.Response) error { return checkDigestHeader(r, dgst) })
}

// headBlob checks that the registry has the blob with the given size.
func (c *client) headBlob(ctx context.Context, repo, dgst string, size int64) error {
	req := newReq(http.MethodHead, c.base+"/v2/"+repo+"/blobs/"+dgst, nil, 0)
	return c.do(ctx, c.reqTimeout, req, http.StatusOK, func(r *http.Response) error {
		if r.ContentLength != size {
			return fmt.Errorf("Content-Length %d, want %d", r.ContentLength, size)
		}
		return checkDigestHeader(r, dgst)
	})
}

// pullBlob GETs a blob, reading it with a 1 MiB buffer (io.Discard's own
// ReadFrom would use 8 KiB reads). With verify it also hashes the body.
func (c *client) pullBlob(ctx context.Context, repo, dgst string, size int64, buf []byte, verify bool) error {
	req := newReq(http.MethodGet, c.base+"/v2/"+repo+"/blobs/"+dgst, nil, 0)
	return c.do(ctx, c.blobTimeout, req, http.StatusOK, func(r *http.Response) error {
		var h hash.Hash
		if verify {
			h = sha256.New()
		}
		var n int64
		for {
			k, err := r.Body.Read(buf)
			n += int64(k)
			if h != nil {
				h.Write(buf[:k])
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if n != size {
			return fmt.Errorf("read %d bytes, want %d", n, size)
		}
		if h != nil {
			if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != dgst {
				return fmt.Errorf("pulled blob digest %s, want %s", got, dgst)
			}
		}
		return nil
	})
}

func (c *client) putManifest(ctx context.Context, repo, tag string, m *manifest) error {
	req := newReq(http.MethodPut, c.base+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(m.body), int64(len(m.body)), "Content-Type", mtOCIManifest)
	return c.do(ctx, c.reqTimeout, req, http.StatusCreated, func(r *http.Response) error { return checkDigestHeader(r, m.digest) })
}

// getManifest GETs by tag; with verify it checks the body's digest.
func (c *client) getManifest(ctx context.Context, repo, tag string, m *manifest, verify bool) error {
	req := newReq(http.MethodGet, c.base+"/v2/"+repo+"/manifests/"+tag, nil, 0, "Accept", manifestAccept)
	return c.do(ctx, c.reqTimeout, req, http.StatusOK, func(r *http.Response) error {
		if !verify {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return err
		}
		if got := digestOf(b); got != m.digest {
			return fmt.Errorf("manifest digest %s, want %s", got, m.digest)
		}
		return checkDigestHeader(r, m.digest)
	})
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// genReader streams size bytes of the deterministic splitmix64 stream for
// seed without holding them in memory; fill produces the same bytes.
type genReader struct {
	state   uint64
	pending [8]byte
	npend   int
	left    int64
}

func newGen(seed uint64, size int64) *genReader { return &genReader{state: seed, left: size} }

func (g *genReader) next() uint64 {
	g.state += 0x9e3779b97f4a7c15
	z := g.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n := 0
	for n < len(p) && g.npend > 0 { // bytes left over from a split word
		p[n] = g.pending[8-g.npend]
		g.npend--
		n++
	}
	for ; n+8 <= len(p); n += 8 {
		binary.LittleEndian.PutUint64(p[n:], g.next())
	}
	if n < len(p) {
		binary.LittleEndian.PutUint64(g.pending[:], g.next())
		k := copy(p[n:], g.pending[:])
		g.npend = 8 - k
		n += k
	}
	g.left -= int64(n)
	return n, nil
}

func fill(seed uint64, size int64) []byte {
	b := make([]byte, size)
	if _, err := io.ReadFull(newGen(seed, size), b); err != nil {
		panic(err)
	}
	return b
}
