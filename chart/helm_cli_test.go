package chart

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthlabs/berth/internal/testtool"
	"github.com/berthlabs/berth/rbac"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelmCLI drives the real helm client against the handler: repo add
// (with credentials, and anonymously for a public project), search, pull
// --verify of a signed chart, and template of the pulled chart.
func TestHelmCLI(t *testing.T) {
	helm := testtool.Require(t, "helm")
	ctx := context.Background()
	s, ring := signer(t)
	r, _ := newRepo(t, WithKeyring(ring))

	// Basic auth: "dev:secret" is a developer of "private"; anonymous
	// callers may read "public".
	e, err := rbac.New(rbac.Policy{
		Projects: []rbac.Project{{Name: "private"}, {Name: "public", Public: true}},
		Bindings: []rbac.Binding{{Subject: "user:dev", Project: "private", Role: rbac.Developer}},
	}, rbac.WithPublicPermissions(rbac.Permission{Resource: rbac.ResourceHelmChart, Action: rbac.ActionRead}))
	require.NoError(t, err)
	access := RBACAccess(func(req *http.Request) (rbac.Principal, error) {
		u, p, ok := req.BasicAuth()
		if !ok {
			return rbac.Principal{}, nil
		}
		if u != "dev" || p != "secret" {
			return rbac.Principal{}, assert.AnError
		}
		return rbac.Principal{Kind: rbac.User, Name: u}, nil
	}, func(_ context.Context, p rbac.Principal, project, repo string, perm rbac.Permission) (rbac.Decision, error) {
		return e.Decide(p, project, repo, perm), nil
	})
	srv := serve(t, r, access)

	archive, prov, _ := signed(t, s, "hello", "0.2.0")
	_, err = r.Upload(ctx, "private", bytes.NewReader(archive), bytes.NewReader(prov), false)
	require.NoError(t, err)
	_, err = r.Upload(ctx, "private", bytes.NewReader(makeChart(t, "hello", "0.1.0")), nil, false)
	require.NoError(t, err)
	_, err = r.Upload(ctx, "public", bytes.NewReader(makeChart(t, "pub", "1.0.0")), nil, false)
	require.NoError(t, err)

	home := t.TempDir()
	env := append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"HOME="+home,
	)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(helm, args...)
		cmd.Env = env
		cmd.Dir = home
		out, err := cmd.CombinedOutput()
		t.Logf("helm %s\n%s", strings.Join(args, " "), out)
		return string(out), err
	}

	_, err = run("repo", "add", "anon-private", srv.URL+"/chartrepo/private")
	require.Error(t, err, "private project without credentials is refused")
	_, err = run("repo", "add", "priv", srv.URL+"/chartrepo/private", "--username", "dev", "--password", "secret")
	require.NoError(t, err)
	_, err = run("repo", "add", "pub", srv.URL+"/chartrepo/public")
	require.NoError(t, err)

	out, err := run("search", "repo", "hello", "--versions")
	require.NoError(t, err)
	assert.Contains(t, out, "priv/hello")
	assert.Contains(t, out, "0.2.0")
	assert.Contains(t, out, "0.1.0")
	out, err = run("search", "repo", "pub/")
	require.NoError(t, err)
	assert.Contains(t, out, "pub/pub")

	dest := filepath.Join(home, "pulled")
	require.NoError(t, os.MkdirAll(dest, 0o755))
	_, err = run("pull", "priv/hello", "--version", "0.2.0", "--verify", "--keyring", ring, "-d", dest)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dest, "hello-0.2.0.tgz"))
	require.NoError(t, err)
	assert.Equal(t, archive, got)

	_, err = run("pull", "priv/hello", "--version", "0.1.0", "--verify", "--keyring", ring, "-d", dest)
	require.Error(t, err, "an unsigned chart does not verify")

	_, err = run("pull", "pub/pub", "-d", dest)
	require.NoError(t, err)

	out, err = run("template", "demo", filepath.Join(dest, "hello-0.2.0.tgz"), "--set", "greeting=hi")
	require.NoError(t, err)
	assert.Contains(t, out, "name: demo-cm")
	assert.Contains(t, out, `greeting: "hi"`)
}
