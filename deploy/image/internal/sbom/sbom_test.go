package sbom_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/deploy/image/internal/sbom"
)

func parse(t *testing.T, b []byte) sbom.Document {
	t.Helper()
	var d sbom.Document
	require.NoError(t, json.Unmarshal(b, &d))
	return d
}

func TestBuild(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Path: "github.com/berthlabs/berth/examples/server",
		Main: debug.Module{Path: "github.com/berthlabs/berth/examples/server", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: "github.com/google/go-containerregistry", Version: "v0.22.1", Sum: "h1:abc="},
			{Path: "github.com/berthlabs/berth", Version: "v0.0.0", Replace: &debug.Module{Path: "../.."}},
		},
		Settings: []debug.BuildSetting{{Key: "GOARCH", Value: "arm64"}, {Key: "GOEXPERIMENT", Value: "jsonv2"}},
	}
	b, err := sbom.Build(info, "00ff", time.Unix(1700000000, 0))
	require.NoError(t, err)
	d := parse(t, b)
	assert.Equal(t, "SPDX-2.3", d.SPDXVersion)
	assert.Equal(t, "2023-11-14T22:13:20Z", d.CreationInfo.Created)
	assert.Contains(t, d.DocumentNamespace, "sha256-00ff")
	require.Len(t, d.Packages, 4)
	assert.Contains(t, d.Packages[0].Comment, "GOEXPERIMENT=jsonv2")
	assert.Equal(t, "stdlib", d.Packages[1].Name)
	ggcr := d.Packages[2]
	assert.Equal(t, "github.com/google/go-containerregistry", ggcr.Name)
	assert.Equal(t, "pkg:golang/github.com/google/go-containerregistry@v0.22.1", ggcr.ExternalRefs[0].ReferenceLocator)
	assert.Contains(t, ggcr.Comment, "h1:abc=")
	assert.Regexp(t, `^SPDXRef-[A-Za-z0-9.-]+$`, ggcr.SPDXID)
	assert.Contains(t, d.Packages[3].Comment, "replaced by ../..")
	assert.Len(t, d.Relationships, 4, "DESCRIBES main; main DEPENDS_ON stdlib and each module")

	again, err := sbom.Build(info, "00ff", time.Unix(1700000000, 0))
	require.NoError(t, err)
	assert.Equal(t, b, again)
}

func TestFromBinary(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	b, err := sbom.FromBinary(exe, time.Unix(0, 0))
	require.NoError(t, err)
	// A test binary records its main module, not its dependencies; the
	// image's test reads the server binary's.
	pkgs := parse(t, b).Packages
	require.GreaterOrEqual(t, len(pkgs), 2)
	assert.Equal(t, "github.com/berthlabs/berth/deploy/image", pkgs[0].Name)
	assert.Equal(t, runtime.Version(), pkgs[1].VersionInfo)

	notGo := filepath.Join(t.TempDir(), "x")
	require.NoError(t, os.WriteFile(notGo, []byte("#!/bin/sh\n"), 0o755))
	_, err = sbom.FromBinary(notGo, time.Unix(0, 0))
	assert.Error(t, err)
}
