package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

// flags are the command-line flags of a node of so.
func (so *scaleOut) flags() []string {
	return []string{"-secret-key-file", so.secretFile, "-database-url", so.dbURL,
		"-storage-s3-bucket", so.s3.Bucket, "-storage-s3-endpoint", so.s3.URL, "-storage-s3-region", so.s3.Region,
		"-storage-s3-access-key", so.s3.AccessKey, "-storage-s3-secret-key", so.s3.SecretKey, "-storage-s3-path-style"}
}

// cluster is the nodes of a scale-out installation as a load balancer sees
// them: requests go round-robin to the nodes that are up.
type cluster struct {
	t     *testing.T
	so    *scaleOut
	mu    sync.Mutex
	nodes []*serverProc // nil while a node is down
	rr    atomic.Uint64
	http  *http.Client
}

func startCluster(t *testing.T, so *scaleOut, n int) *cluster {
	c := &cluster{t: t, so: so, nodes: make([]*serverProc, n),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	for i := range c.nodes {
		c.nodes[i] = startServer(t, "", so.flags()...)
	}
	return c
}

// pick returns the URL of a node that is up, round-robin from offset.
func (c *cluster) pick(offset int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.nodes {
		if n := c.nodes[(offset+i)%len(c.nodes)]; n != nil {
			return n.URL
		}
	}
	return ""
}

// kill SIGKILLs node i; restart starts it again (on a new port).
func (c *cluster) kill(i int) {
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	n.kill()
}

func (c *cluster) restart(i int) {
	n := startServer(c.t, "", c.so.flags()...)
	c.mu.Lock()
	c.nodes[i] = n
	c.mu.Unlock()
}

// send sends one request to url+path; a transport error (a node dying)
// is returned, not fatal.
func (c *cluster) send(method, url string, body []byte, header ...string) (response, error) {
	req, err := http.NewRequestWithContext(c.t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// errRetry marks an attempt that must be repeated, perhaps on another node.
var errRetry = errors.New("retry")

// until repeats attempt on node after node until it succeeds (each
// attempt is idempotent: what it writes, a repeat writes again) and
// reports how many attempts failed.
func (c *cluster) until(offset int, attempt func(url string) error) int {
	for failures := 0; ; failures++ {
		if err := c.t.Context().Err(); err != nil {
			c.t.Errorf("the test ended during a retry loop: %v", err)
			return failures
		}
		url := c.pick(offset + failures)
		if url == "" {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		err := attempt(url)
		if err == nil {
			return failures
		}
		if !errors.Is(err, errRetry) {
			c.t.Error(err)
			return failures
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// retryable turns a transport error or a 5xx into errRetry; other
// statuses than want into a test error.
func retryable(r response, err error, want int, what string) error {
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s: %v", errRetry, what, err)
	case r.status >= 500:
		return fmt.Errorf("%w: %s: %d %s", errRetry, what, r.status, r.body)
	case r.status != want:
		return fmt.Errorf("%s: status %d, want %d: %s", what, r.status, want, r.body)
	}
	return nil
}

// soakClient is one client of the soak: its own repository, what it was
// acknowledged, the blobs it pushed.
type soakClient struct {
	c       *cluster
	id      int
	repo    string
	tags    map[string][]byte // tag -> manifest acknowledged last
	deleted []digest.Digest
	blobs   map[digest.Digest][]byte
	ops     map[string]int
	retries int
}

func (sc *soakClient) pushBlob(content []byte, chunked bool) {
	d := digest.FromBytes(content)
	sc.blobs[d] = content
	if !chunked {
		sc.retries += sc.c.until(sc.id, func(url string) error {
			r, err := sc.c.send(http.MethodPost, url+withQuery("/v2/"+sc.repo+"/blobs/uploads/", "digest", d.String()), content,
				"Content-Type", "application/octet-stream")
			return retryable(r, err, http.StatusCreated, "monolithic push")
		})
		return
	}
	for !sc.pushChunked(content, d) {
		sc.retries++ // the session was lost with a node: push again, as a client does
	}
}

// pushChunked pushes content in two chunks and a closing PUT, resuming the
// session on whichever node answers, at the offset it acknowledged. It
// reports false when the session is gone: a node died after publishing
// the blob but before linking it, so the client must push again.
func (sc *soakClient) pushChunked(content []byte, d digest.Digest) bool {
	var loc string
	sc.retries += sc.c.until(sc.id, func(url string) error {
		r, err := sc.c.send(http.MethodPost, url+"/v2/"+sc.repo+"/blobs/uploads/", nil)
		if err := retryable(r, err, http.StatusAccepted, "start upload"); err != nil {
			return err
		}
		loc = r.header.Get("Location")
		return nil
	})
	half, lost := len(content)/2, false
	var offset int64
	sc.retries += sc.c.until(sc.id+1, func(url string) error {
		for offset < int64(len(content)) {
			end := int64(half)
			if offset >= end {
				end = int64(len(content))
			}
			r, err := sc.c.send(http.MethodPatch, url+loc, content[offset:end], "Content-Type", "application/octet-stream",
				"Content-Range", fmt.Sprintf("%d-%d", offset, end-1))
			if err != nil || r.status >= 500 || r.status == http.StatusRequestedRangeNotSatisfiable {
				// Where is the session? Ask, then go on from there.
				st, serr := sc.c.send(http.MethodGet, url+loc, nil)
				if serr != nil || st.status >= 500 {
					return fmt.Errorf("%w: upload status: %v %d", errRetry, serr, st.status)
				}
				if st.status != http.StatusNoContent {
					return fmt.Errorf("upload status after a failed chunk: %d %s", st.status, st.body)
				}
				offset = rangeEnd(st.header.Get("Range"))
				return fmt.Errorf("%w: chunk: %v %d", errRetry, err, r.status)
			}
			if err := retryable(r, err, http.StatusAccepted, "chunk"); err != nil {
				return err
			}
			offset = end
		}
		return nil
	})
	sc.retries += sc.c.until(sc.id+2, func(url string) error {
		r, err := sc.c.send(http.MethodPut, url+withQuery(loc, "digest", d.String()), nil)
		if err == nil && r.status == http.StatusNotFound {
			// The session ended with an earlier PUT whose answer was lost:
			// linked if it got that far, lost with its node if not.
			h, herr := sc.c.send(http.MethodHead, url+"/v2/"+sc.repo+"/blobs/"+d.String(), nil)
			if herr != nil || h.status >= 500 {
				return fmt.Errorf("%w: head after a lost close", errRetry)
			}
			lost = h.status != http.StatusOK
			return nil
		}
		return retryable(r, err, http.StatusCreated, "close upload")
	})
	return !lost
}

// rangeEnd is the offset after a Range header "0-N" (0 for none).
func rangeEnd(h string) int64 {
	if h == "" {
		return 0
	}
	var from, to int64
	if _, err := fmt.Sscanf(h, "%d-%d", &from, &to); err != nil {
		return 0
	}
	return to + 1
}

func (sc *soakClient) putManifest(tag string, body []byte) {
	sc.retries += sc.c.until(sc.id, func(url string) error {
		r, err := sc.c.send(http.MethodPut, url+"/v2/"+sc.repo+"/manifests/"+tag, body, "Content-Type", manifestType)
		return retryable(r, err, http.StatusCreated, "manifest put")
	})
	sc.tags[tag] = body
}

// run does op after op until stop closes.
func (sc *soakClient) run(t *testing.T, stop <-chan struct{}) {
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		op := k % 5
		switch {
		case op == 0 || op == 1 || len(sc.tags) == 0: // push an image, monolithic or chunked layer
			config, layer := imageConfig("amd64-"+strconv.Itoa(k)), randomBytes(16<<10+k)
			sc.pushBlob(config, false)
			sc.pushBlob(layer, op == 1)
			sc.putManifest("t"+strconv.Itoa(k%4), imageManifest(t, config, layer))
			sc.ops["push"]++
		case op == 2: // pull a tag and its layer from any node
			for tag, body := range sc.tags {
				sc.retries += sc.c.until(sc.id+k, func(url string) error {
					r, err := sc.c.send(http.MethodGet, url+"/v2/"+sc.repo+"/manifests/"+tag, nil, "Accept", manifestType)
					if err := retryable(r, err, http.StatusOK, "pull manifest"); err != nil {
						return err
					}
					if !bytes.Equal(r.body, body) {
						return fmt.Errorf("pull %s:%s: not the acknowledged manifest", sc.repo, tag)
					}
					return nil
				})
				break
			}
			sc.ops["pull"]++
		case op == 3: // move a tag to an acknowledged manifest
			for _, body := range sc.tags {
				sc.putManifest("moved", body)
				break
			}
			sc.ops["tag move"]++
		default: // push then delete a manifest
			config, layer := imageConfig("del-"+strconv.Itoa(k)), randomBytes(4<<10)
			sc.pushBlob(config, false)
			sc.pushBlob(layer, false)
			body := imageManifest(t, config, layer)
			sc.putManifest("doomed", body)
			delete(sc.tags, "doomed")
			d := digest.FromBytes(body)
			sc.retries += sc.c.until(sc.id, func(url string) error {
				r, err := sc.c.send(http.MethodDelete, url+"/v2/"+sc.repo+"/manifests/"+d.String(), nil)
				if err == nil && r.status == http.StatusNotFound {
					return nil // an earlier attempt deleted it; its answer was lost
				}
				return retryable(r, err, http.StatusAccepted, "delete")
			})
			sc.deleted = append(sc.deleted, d)
			sc.ops["delete"]++
		}
	}
}

// A soak of 16 clients over three nodes sharing PostgreSQL and S3, while
// one node is SIGKILLed and restarted twice: every acknowledged write
// reads back byte-identical from every node, deletions stay deleted, a
// chunked upload started on the killed node resumes on another at its
// acknowledged offset, and the check finds the store consistent.
func TestScaleOutSoakWithKills(t *testing.T) {
	so := newScaleOut(t)
	c := startCluster(t, so, 3)

	// The deterministic case first: a session on node 0, one chunk
	// acknowledged, node 0 killed, the rest through node 1.
	content := randomBytes(3 * chunkSize)
	loc := c.nodes[0].startUpload("resume/app")
	r := c.nodes[0].patchChunk(loc, content, 0)
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	c.kill(0)
	st := c.nodes[1].do(http.MethodGet, loc, nil)
	require.Equal(t, http.StatusNoContent, st.status)
	assert.Equal(t, rangeTo(chunkSize), st.header.Get("Range"), "the acknowledged offset, seen from another node")
	r = c.nodes[1].patchChunk(loc, content, 1)
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	d := digest.FromBytes(content)
	r = c.nodes[1].do(http.MethodPut, withQuery(loc, "digest", d.String()), content[2*chunkSize:],
		"Content-Type", "application/octet-stream")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	c.nodes[2].requireBlob("resume/app", d, content)
	c.restart(0)

	const clients = 16
	stop := make(chan struct{})
	soakers := make([]*soakClient, clients)
	var wg sync.WaitGroup
	for i := range soakers {
		soakers[i] = &soakClient{c: c, id: i, repo: fmt.Sprintf("soak/c%d", i), tags: map[string][]byte{},
			blobs: map[digest.Digest][]byte{}, ops: map[string]int{}}
		wg.Go(func() { soakers[i].run(t, stop) })
	}
	for range 2 {
		time.Sleep(4 * time.Second)
		c.kill(1)
		time.Sleep(time.Second)
		c.restart(1)
	}
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	ops, retries := map[string]int{}, 0
	for _, sc := range soakers {
		for k, n := range sc.ops {
			ops[k] += n
		}
		retries += sc.retries
	}
	t.Logf("soak: %v operations, %d failed attempts retried elsewhere", ops, retries)
	require.False(t, t.Failed())

	// Every node serves every acknowledged write, byte for byte.
	for _, n := range c.nodes {
		for _, sc := range soakers {
			for tag, body := range sc.tags {
				n.requireManifest(sc.repo, tag, body)
			}
			for _, d := range sc.deleted {
				n.requireNoManifest(sc.repo, d.String())
			}
		}
	}
	for _, sc := range soakers { // blobs from one node each, to bound the time
		n := c.nodes[sc.id%len(c.nodes)]
		for d, b := range sc.blobs {
			n.requireBlob(sc.repo, d, b)
		}
	}
	for _, n := range c.nodes {
		n.stop()
	}
	code, out := runCheckArgs(t, so.flags()...)
	assert.Equal(t, 0, code, "check: %s", out)
}

// runCheckArgs runs "server check" with args to completion and returns
// its exit status and standard output.
func runCheckArgs(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := serverCmd(ctx, t, append([]string{"check", "-auth=false", "-data", ""}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running check: %v", err)
	}
	t.Logf("server check: exit %d\n%s%s", cmd.ProcessState.ExitCode(), stdout.String(), stderr.String())
	return cmd.ProcessState.ExitCode(), stdout.String()
}

// server migrate brings a fresh database to the binary's schema and exits
// 0; a server refuses to start on a schema newer than itself (a rolled
// back upgrade) and says why.
func TestScaleOutMigrateAndNewerSchema(t *testing.T) {
	so := newScaleOut(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := serverCmd(ctx, t, append([]string{"migrate", "-data=", "-auth=false", "-trivy=false"}, so.flags()...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)

	db, err := sqldb.OpenPostgres(ctx, so.dbURL)
	require.NoError(t, err)
	defer db.Close()
	var version int
	require.NoError(t, db.QueryRow(ctx, `SELECT MAX(version) FROM schema_migrations WHERE component = 'registry'`).Scan(&version))
	assert.Positive(t, version, "migrate applied the registry's migrations")
	require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (component, version) VALUES ('registry', ?)`, version+100)
		return err
	}))
	cmd := serverCmd(ctx, t, append([]string{"-addr", "127.0.0.1:0", "-data=", "-auth=false", "-trivy=false"}, so.flags()...)...)
	out, err = cmd.CombinedOutput()
	require.Error(t, err, "a server older than its schema must not start")
	assert.Contains(t, string(out), "database schema is newer than this binary")
	assert.Contains(t, string(out), fmt.Sprintf("registry is at version %d", version+100))
}
