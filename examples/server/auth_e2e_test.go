package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/internal/testtool"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/server"
)

// authApp is the whole server, auth on, served in process.
type authApp struct {
	*server.Server
	srv  *httptest.Server
	host string
}

func startAuthApp(t *testing.T) *authApp { return startE2EApp(t, nil) }

// crane runs crane with a docker config holding user's credentials (none
// for anonymous) and returns its combined output and error.
func (a *authApp) crane(t *testing.T, user, pass string, args ...string) (string, error) {
	t.Helper()
	bin := testtool.Require(t, "crane")
	dir := t.TempDir()
	auths := map[string]any{}
	if user != "" {
		auths[a.host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}
	}
	b, _ := json.Marshal(map[string]any{"auths": auths})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--insecure")...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir, "HOME="+dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestAuthWithRealClients(t *testing.T) {
	a := startAuthApp(t)
	ctx := t.Context()
	_, err := a.Users().Create(ctx, auth.User{Name: "alice"}, "alice-password-1")
	require.NoError(t, err)
	_, err = a.Users().Create(ctx, auth.User{Name: "gus"}, "gus-password-1")
	require.NoError(t, err)
	_, err = a.Projects().Create(ctx, project.Project{Name: "team"},
		project.Member{Subject: "user:alice", Role: "developer"}, project.Member{Subject: "user:gus", Role: "guest"})
	require.NoError(t, err)
	_, err = a.Projects().Create(ctx, project.Project{Name: "open", Public: true},
		project.Member{Subject: "user:alice", Role: "maintainer"})
	require.NoError(t, err)
	robot, secret, err := a.Robots().Create(ctx, auth.Robot{Name: "ci", Project: "team", Permissions: []auth.RobotPermission{
		{Project: "team", Resource: "repository", Action: "push"}, {Project: "team", Resource: "repository", Action: "pull"}}})
	require.NoError(t, err)

	img := a.host + "/team/app:1"
	image := writeRandomImage(t)
	out, err := a.crane(t, "alice", "alice-password-1", "push", image, img)
	require.NoError(t, err, "developer pushes: %s", out)

	out, err = a.crane(t, "gus", "gus-password-1", "push", image, a.host+"/team/app:2")
	require.Error(t, err, "guest may not push")
	assert.Contains(t, strings.ToLower(out), "unauthorized")
	out, err = a.crane(t, "gus", "gus-password-1", "manifest", img)
	require.NoError(t, err, "guest pulls: %s", out)

	_, err = a.crane(t, "", "", "manifest", img)
	require.Error(t, err, "anonymous may not pull from a private project")
	out, err = a.crane(t, "alice", "alice-password-1", "push", image, a.host+"/open/app:1")
	require.NoError(t, err, "%s", out)
	out, err = a.crane(t, "", "", "manifest", a.host+"/open/app:1")
	require.NoError(t, err, "anonymous pulls from a public project: %s", out)
	_, err = a.crane(t, "alice", "wrong-password", "manifest", img)
	require.Error(t, err)

	// A robot pushes with Basic credentials, then expires.
	out, err = a.crane(t, robot.Name, secret, "push", image, a.host+"/team/robot:1")
	require.NoError(t, err, "robot pushes: %s", out)
	past := time.Now().Add(-time.Minute)
	_, err = a.Robots().Update(ctx, robot.Name, auth.RobotUpdate{ExpiresAt: &past})
	require.NoError(t, err)
	out, err = a.crane(t, robot.Name, secret, "manifest", a.host+"/team/robot:1")
	require.Error(t, err, "expired robot is refused: %s", out)

	// The audit log saw the pushes, the pulls and the failed login.
	require.NoError(t, a.Audit().Close(ctx))
	entries, _, err := a.AuditLog().Query(ctx, audit.Filter{}, audit.Page{Limit: 500})
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, e := range entries {
		who := e.Actor
		if e.AttemptedUser != "" {
			who = "claimed:" + e.AttemptedUser // a failed login names nobody
		}
		seen[who+" "+e.Action] = true
	}
	assert.True(t, seen["alice push"], "%v", seen)
	assert.True(t, seen["gus pull"], "%v", seen)
	assert.True(t, seen[robot.Name+" push"], "%v", seen)
	assert.True(t, seen["claimed:alice "+audit.ActionLoginFailure], "%v", seen)
}

func TestAuthChallengesAndTokenEndpoint(t *testing.T) {
	a := startAuthApp(t)
	resp, err := http.Get(a.srv.URL + "/v2/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Bearer realm="`+a.srv.URL+`/service/token",service="berth"`, resp.Header.Get("WWW-Authenticate"))

	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/service/token?service=berth&scope=registry:catalog:*", nil)
	req.SetBasicAuth("admin", e2eAdminPassword)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var tok struct{ Token string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, a.srv.URL+"/v2/_catalog", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the admin's token opens the catalog")
}

// writeRandomImage writes a small random image as a tarball crane can push.
func writeRandomImage(t *testing.T) string {
	t.Helper()
	img, err := random.Image(1024, 2)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "image.tar")
	ref, err := name.ParseReference("example.invalid/image:latest")
	require.NoError(t, err)
	require.NoError(t, tarball.WriteToFile(path, ref, img))
	return path
}
