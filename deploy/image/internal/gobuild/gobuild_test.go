package gobuild_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/deploy/image/internal/gobuild"
)

func TestBuildReportsTheGoCommandsOutput(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/broken\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { undefinedName() }\n"), 0o644))
	err := gobuild.Build(t.Context(), gobuild.Target{Dir: dir, Package: ".", Arch: "arm64", Output: filepath.Join(dir, "out")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "undefined: undefinedName")
	assert.Contains(t, err.Error(), "GOARCH=arm64")

	err = gobuild.Build(t.Context(), gobuild.Target{Dir: dir, Package: "."})
	assert.ErrorContains(t, err, "required")
}

func TestBuildFixesWhatChangesTheBinary(t *testing.T) {
	tg := gobuild.Target{Arch: "amd64", Experiment: "jsonv2", Output: "o", Package: "./p"}
	assert.Subset(t, tg.Env(), []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOEXPERIMENT=jsonv2", "GOFLAGS=", "GOAMD64=v1"})
	assert.Subset(t, tg.Args(), []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="})
}
