package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testtool"
)

// TestImage builds the real image (Trivy linked in, both platforms) twice
// and follows it from build to a running server and a verified pull.
//
// Cost: the first build compiles examples/server with GOEXPERIMENT=jsonv2
// for amd64 and arm64 (minutes on a cold Go build cache); the second,
// for the reproducibility check, reuses the build cache and only links.
func TestImage(t *testing.T) {
	crane, cosign := testtool.Require(t, "crane"), testtool.Require(t, "cosign")
	// The key is cosign's own (encrypted, read with COSIGN_PASSWORD).
	keyFile, pubFile, pubPEM := cosignKeyPair(t, cosign, "image-test-key-password")
	t.Setenv("COSIGN_PASSWORD", "image-test-key-password")
	b := startBerth(t, "berth", pubPEM)
	ref := b.host + "/berth/server:test"

	epoch := time.Unix(1700000000, 0)
	base := options{src: sourceSnapshot(t), pkg: "./examples/server", platforms: []string{"linux/amd64", "linux/arm64"},
		version: "test", revision: "test-revision", epoch: &epoch, sbom: true}
	first, second := base, base
	first.out, second.out = t.TempDir(), t.TempDir()
	second.push, second.plainHTTP, second.signKey = ref, true, keyFile
	second.username, second.password = "admin", adminPassword

	r1, err := run(t.Context(), first, testLog{t})
	require.NoError(t, err)
	r2, err := run(t.Context(), second, testLog{t})
	require.NoError(t, err)
	require.Equal(t, r1.Index, r2.Index, "same source, same index digest")
	requireSameFile(t, filepath.Join(first.out, "index.json"), filepath.Join(second.out, "index.json"))
	require.Len(t, r2.Pushed.Signatures, 3, "the index and its two manifests are signed")
	digestRef := b.host + "/berth/server@" + r1.Index.String()

	t.Run("crane config shows a non-root user", func(t *testing.T) {
		for _, p := range base.platforms {
			out, err := b.runTool(t, crane, "config", ref, "--platform", p, "--insecure")
			require.NoError(t, err, out)
			var cf v1.ConfigFile
			require.NoError(t, json.Unmarshal([]byte(out), &cf), out)
			assert.Equal(t, "65532:65532", cf.Config.User, p)
			assert.Equal(t, strings.TrimPrefix(p, "linux/"), cf.Architecture)
			assert.Equal(t, []string{"/usr/bin/berth"}, cf.Config.Entrypoint)
		}
	})

	t.Run("the binary from the image runs", func(t *testing.T) {
		bin := extractBinary(t, first.out, "amd64")
		// The server writes only under -data: its working directory and
		// HOME stay empty, as a read-only root filesystem requires.
		cwd, home := t.TempDir(), t.TempDir()
		addr := startBinary(t, bin, cwd, home, "-data", t.TempDir(), "-addr", "127.0.0.1:0", "-trivy=false")
		resp, err := http.Get("http://" + addr + "/livez")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		// Readiness (database and storage) follows within moments.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get("http://" + addr + "/healthz")
			require.NoError(t, err)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			require.True(t, time.Now().Before(deadline), "/healthz still answers %d", resp.StatusCode)
		}
		for _, dir := range []string{cwd, home} {
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "the server wrote outside its data directory, in %s", dir)
		}
	})

	t.Run("berth's trust gate lets the signed image through and stops a copy", func(t *testing.T) {
		// Each platform's manifest is signed too: a client resolving one
		// by digest, before (or without) the index, passes the gate.
		for _, d := range platformDigests(t, first.out) {
			status, body := b.get(t, "/v2/berth/server/manifests/"+d.String(), ocispec.MediaTypeImageManifest)
			assert.Equal(t, http.StatusOK, status, "%s: %s", d, body)
		}
		status, body := b.get(t, "/v2/berth/server/manifests/"+r1.Index.String(), ocispec.MediaTypeImageIndex)
		assert.Equal(t, http.StatusOK, status, "%s", body)
		out, err := b.runTool(t, crane, "copy", ref, b.host+"/berth/unsigned:test", "--insecure")
		require.NoError(t, err, out)
		status, body = b.get(t, "/v2/berth/unsigned/manifests/"+r1.Index.String(), ocispec.MediaTypeImageIndex)
		assert.Equal(t, http.StatusPreconditionFailed, status)
		assert.Contains(t, string(body), "no signature found")
	})

	t.Run("cosign verifies the signature", func(t *testing.T) {
		out, err := b.runTool(t, cosign, "verify", "--key", pubFile, "--insecure-ignore-tlog",
			"--allow-insecure-registry", "--allow-http-registry", digestRef)
		require.NoError(t, err, out)
		_, otherPub, _ := signingKey(t)
		out, err = b.runTool(t, cosign, "verify", "--key", otherPub, "--insecure-ignore-tlog",
			"--allow-insecure-registry", "--allow-http-registry", digestRef)
		require.Error(t, err, "another key must not verify: %s", out)
	})

	t.Run("the SBOMs are referrers of the index and of each image", func(t *testing.T) {
		doc := b.sbomOf(t, "berth/server", r1.Index)
		names := map[string]string{}
		for _, p := range doc.Packages {
			names[p.Name] = p.VersionInfo
		}
		assert.Contains(t, names, "github.com/berthlabs/berth/examples/server")
		assert.Contains(t, names, "github.com/berthlabs/berth")
		assert.Contains(t, names, "github.com/aquasecurity/trivy", "the image's server links Trivy (GOEXPERIMENT=jsonv2)")
		assert.Equal(t, "v0.22.1", names["github.com/google/go-containerregistry"])

		for i, d := range platformDigests(t, first.out) {
			arch := strings.TrimPrefix(base.platforms[i], "linux/")
			assert.Contains(t, b.sbomOf(t, "berth/server", d).Packages[0].Comment, "GOARCH="+arch)
		}
	})
}

// sourceSnapshot extracts the committed tree (git archive HEAD) into a
// temporary directory: both builds must see the same source, and the
// working tree may change under a long build. -trimpath keeps the
// directory out of the binary and out of the build cache's keys.
func sourceSnapshot(t *testing.T) string {
	t.Helper()
	root, err := workspaceRoot()
	require.NoError(t, err)
	dir := t.TempDir()
	archive := exec.CommandContext(t.Context(), "git", "-C", root, "archive", "HEAD")
	untar := exec.CommandContext(t.Context(), "tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	require.NoError(t, err)
	untar.Stdin = pipe
	var archiveErr, untarErr bytes.Buffer // one each: they write at once
	archive.Stderr, untar.Stderr = &archiveErr, &untarErr
	require.NoError(t, untar.Start())
	require.NoError(t, archive.Run(), "git archive HEAD in %s: %s", root, archiveErr.String())
	require.NoError(t, untar.Wait(), "tar -x: %s", untarErr.String())
	return dir
}

func requireSameFile(t *testing.T, a, b string) {
	t.Helper()
	ab, err := os.ReadFile(a)
	require.NoError(t, err)
	bb, err := os.ReadFile(b)
	require.NoError(t, err)
	require.Equal(t, string(ab), string(bb))
}

// layoutIndex is the image index the OCI layout at dir holds.
func layoutIndex(t *testing.T, dir string) (v1.ImageIndex, *v1.IndexManifest) {
	t.Helper()
	p, err := layout.FromPath(dir)
	require.NoError(t, err)
	outer, err := p.ImageIndex()
	require.NoError(t, err)
	om, err := outer.IndexManifest()
	require.NoError(t, err)
	require.Len(t, om.Manifests, 1)
	idx, err := outer.ImageIndex(om.Manifests[0].Digest)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	return idx, im
}

func platformDigests(t *testing.T, dir string) []v1.Hash {
	t.Helper()
	_, im := layoutIndex(t, dir)
	require.Len(t, im.Manifests, 2)
	return []v1.Hash{im.Manifests[0].Digest, im.Manifests[1].Digest}
}

// extractBinary reads /usr/bin/berth out of arch's image in the OCI
// layout at dir, through go-containerregistry, into an executable file.
func extractBinary(t *testing.T, dir, arch string) string {
	t.Helper()
	idx, im := layoutIndex(t, dir)
	var err error
	var img v1.Image
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Architecture == arch {
			img, err = idx.Image(d.Digest)
			require.NoError(t, err)
		}
	}
	require.NotNil(t, img, "no %s image in the index", arch)
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "usr/bin/berth not found in the image")
		if h.Name != "usr/bin/berth" {
			continue
		}
		out := filepath.Join(t.TempDir(), "berth")
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY, 0o755)
		require.NoError(t, err)
		_, err = io.Copy(f, tr)
		require.NoError(t, errors.Join(err, f.Close()))
		return out
	}
}

// startBinary runs bin in dir with HOME home and returns the address from
// its "berth listening" log line; the process is killed at cleanup.
func startBinary(t *testing.T, bin, dir, home string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME=", "XDG_CONFIG_HOME=")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	var log bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			log.Write(append(sc.Bytes(), '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "berth listening" {
				addr <- rec.Addr
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		require.True(t, ok, "the server exited before listening:\n%s", log.String())
		return a
	case <-time.After(time.Minute):
		t.Fatal("the server did not log its address within a minute")
		return ""
	}
}

// testLog writes the builder's progress into the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
