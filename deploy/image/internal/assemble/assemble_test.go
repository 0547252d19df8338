package assemble_test

import (
	"archive/tar"
	"io"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/deploy/image/internal/assemble"
)

var meta = assemble.Meta{Created: time.Unix(1700000000, 0), Version: "1.2.3", Revision: "abc123"}

// entries lists a layer's tar headers in order.
func entries(t *testing.T, l v1.Layer) []*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	var hs []*tar.Header
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		require.NoError(t, err)
		hs = append(hs, h)
	}
}

func TestLayerIsSortedAndTimeless(t *testing.T) {
	files := []assemble.File{{Path: "b", Mode: 0o644, Body: []byte("b")}, {Path: "a", Dir: true, Mode: 0o755, UID: 7, GID: 8}}
	l, err := assemble.Layer(files, time.Date(2024, 1, 2, 3, 4, 5, 999, time.FixedZone("x", 3600)))
	require.NoError(t, err)
	hs := entries(t, l)
	require.Len(t, hs, 2)
	assert.Equal(t, "a/", hs[0].Name)
	assert.Equal(t, "b", hs[1].Name)
	assert.Equal(t, 7, hs[0].Uid)
	assert.Equal(t, 8, hs[0].Gid)
	assert.Empty(t, hs[0].Uname)
	for _, h := range hs {
		assert.True(t, h.ModTime.Equal(time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC)), "mtime %v", h.ModTime)
	}

	again, err := assemble.Layer([]assemble.File{files[1], files[0]}, time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC))
	require.NoError(t, err)
	d1, err := l.Digest()
	require.NoError(t, err)
	d2, err := again.Digest()
	require.NoError(t, err)
	assert.Equal(t, d1, d2, "order of files and sub-second time do not change the layer")
}

func TestLayerRefusesPathTricks(t *testing.T) {
	for _, p := range []string{"/etc/passwd", "../x", "a/../b", "a/", "", "."} {
		_, err := assemble.Layer([]assemble.File{{Path: p, Mode: 0o644}}, time.Time{})
		assert.Error(t, err, "path %q", p)
	}
	_, err := assemble.Layer([]assemble.File{{Path: "a", Mode: 0o644}, {Path: "a", Mode: 0o600}}, time.Time{})
	assert.ErrorContains(t, err, "twice")
}

func TestImageConfig(t *testing.T) {
	img, err := assemble.Image([]byte("\x7fELF not really"), "arm64", meta)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "65532:65532", cf.Config.User)
	assert.Equal(t, []string{"/usr/bin/berth"}, cf.Config.Entrypoint)
	assert.Contains(t, cf.Config.Env, "BERTH_DATA=/var/lib/berth")
	assert.Contains(t, cf.Config.Env, "HOME=/var/lib/berth")
	assert.Contains(t, cf.Config.ExposedPorts, "5000/tcp")
	assert.Equal(t, "abc123", cf.Config.Labels["org.opencontainers.image.revision"])
	assert.Equal(t, "linux", cf.OS)
	assert.Equal(t, "arm64", cf.Architecture)
	assert.True(t, cf.Created.Equal(meta.Created))

	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 2)
	byName := map[string]*tar.Header{}
	for _, l := range layers {
		for _, h := range entries(t, l) {
			byName[h.Name] = h
		}
	}
	assert.Equal(t, 65532, byName["var/lib/berth/"].Uid, "the data directory belongs to the user")
	assert.Equal(t, int64(0o1777), byName["tmp/"].Mode)
	assert.Equal(t, int64(0o755), byName["usr/bin/berth"].Mode)
	assert.Equal(t, 0, byName["usr/bin/berth"].Uid, "the binary is root's: the user cannot replace it")
}

func TestIndexIsReproducible(t *testing.T) {
	build := func(m assemble.Meta) v1.Hash {
		amd, err := assemble.Image([]byte("amd"), "amd64", m)
		require.NoError(t, err)
		arm, err := assemble.Image([]byte("arm"), "arm64", m)
		require.NoError(t, err)
		idx, err := assemble.Index([]v1.Image{amd, arm}, m)
		require.NoError(t, err)
		im, err := idx.IndexManifest()
		require.NoError(t, err)
		require.Len(t, im.Manifests, 2)
		assert.Equal(t, "arm64", im.Manifests[1].Platform.Architecture)
		assert.Equal(t, "1.2.3", im.Annotations["org.opencontainers.image.version"])
		d, err := idx.Digest()
		require.NoError(t, err)
		return d
	}
	first := build(meta)
	assert.Equal(t, first, build(meta))
	later := meta
	later.Created = meta.Created.Add(time.Second)
	assert.NotEqual(t, first, build(later), "the time is part of the image")
}
