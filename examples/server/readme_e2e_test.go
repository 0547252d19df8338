package main

// The README's first-push walk-through, run as it stands: the server on
// its embedded default with a generated admin password, a login and a push
// into the "library" project that exists from the start, with crane.

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testtool"
)

// readmeBlock returns the shell lines between <!-- name --> and
// <!-- /name --> in the README.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- " + name + " -->\n```sh\n(.*?)```\n<!-- /" + name + " -->").FindSubmatch(b)
	require.NotNil(t, m, "README has no %s block", name)
	return string(m[1])
}

func TestReadmeFirstPush(t *testing.T) {
	crane := testtool.Require(t, "crane")
	script := readmeBlock(t, "first-push")
	const runCmd = "GOEXPERIMENT=jsonv2 go run ./examples/server"
	require.Contains(t, script, runCmd, "the walk-through starts the README's server command")
	require.Contains(t, script, "127.0.0.1:5000")

	// The server is this test binary (as in every end-to-end test), on a
	// free port instead of 5000, in a scratch directory; everything else
	// runs as written.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	script = strings.ReplaceAll(script, "127.0.0.1:5000", addr)
	script = strings.Replace(script, runCmd, exe+" -addr "+addr+" -trivy=false", 1)
	// The trap stops the server should a line fail before the last.
	cmd := exec.CommandContext(t.Context(), "bash", "-e", "-c", "set -m\ntrap 'kill %1 2>/dev/null || true' EXIT\n"+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runServerEnv+"=1", "HOME="+dir, "BERTH_ADMIN_PASSWORD=",
		"PATH="+filepath.Dir(crane)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	lines := string(out)
	assert.Regexp(t, `(?m)^1$`, lines, "crane ls lists the pushed tag")
	assert.Regexp(t, `(?m)^hello$`, lines, "the pulled layer holds the file")
	_, err = os.Stat(filepath.Join(dir, "data", "initial-admin-password"))
	assert.NoError(t, err)
}
