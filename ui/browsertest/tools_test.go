package browsertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/portaltest"
	"github.com/berthlabs/berth/internal/testtool"
)

// clients runs the real crane and cosign as the admin of one site.
type clients struct {
	t    *testing.T
	dir  string // DOCKER_CONFIG, HOME, keys
	host string
}

func newClients(t *testing.T, site *portaltest.Site) *clients {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("admin:" + portaltest.AdminPassword))
	b, err := json.Marshal(map[string]any{"auths": map[string]any{site.Host: map[string]string{"auth": auth}}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600))
	return &clients{t: t, dir: dir, host: site.Host}
}

// run runs a tool and returns its output, failing the test on an error.
func (c *clients) run(tool string, args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testtool.Require(c.t, tool), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+c.dir, "HOME="+c.dir, "COSIGN_PASSWORD=berth-test",
		"TUF_ROOT="+filepath.Join(c.dir, "tuf"), "SIGSTORE_NO_CACHE=true")
	out, err := cmd.CombinedOutput()
	require.NoError(c.t, err, "%s %s:\n%s", tool, strings.Join(args, " "), out)
	return string(out)
}

// cranePush writes a random image to a tarball and pushes it with crane
// as repo:tag; it returns the image's digest.
func (c *clients) cranePush(repo, tag string) string {
	c.t.Helper()
	img, err := random.Image(3000, 2)
	require.NoError(c.t, err)
	ref, err := name.ParseReference(c.host+"/"+repo+":"+tag, name.Insecure)
	require.NoError(c.t, err)
	file := filepath.Join(c.dir, "image.tar")
	require.NoError(c.t, tarball.WriteToFile(file, ref, img))
	c.run("crane", "push", "--insecure", file, ref.String())
	d, err := img.Digest()
	require.NoError(c.t, err)
	return d.String()
}

// cosignKeys makes a cosign key pair and returns the private key's path
// and the public key's PEM.
func (c *clients) cosignKeys() (key string, pub []byte) {
	c.t.Helper()
	c.run("cosign", "generate-key-pair", "--output-key-prefix", filepath.Join(c.dir, "cosign"))
	pub, err := os.ReadFile(filepath.Join(c.dir, "cosign.pub"))
	require.NoError(c.t, err)
	return filepath.Join(c.dir, "cosign.key"), pub
}

// cosignSign signs repo@digest with key, storing the signature in the
// registry (no transparency log: nothing leaves the machine).
func (c *clients) cosignSign(key, repo, digest string) {
	c.t.Helper()
	c.run("cosign", "sign", "--key", key, "--tlog-upload=false", "--allow-insecure-registry", "--allow-http-registry", "-y",
		c.host+"/"+repo+"@"+digest)
}
