package testimage_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testimage"
)

func TestRandomIsReproducible(t *testing.T) {
	digest := func(size int, seed uint64) string {
		img, err := testimage.Random(size, seed)
		require.NoError(t, err)
		d, err := img.Digest()
		require.NoError(t, err)
		return d.String()
	}
	assert.Equal(t, digest(1<<20, 7), digest(1<<20, 7))
	assert.NotEqual(t, digest(1<<20, 7), digest(1<<20, 8))
	img, err := testimage.Random(1<<20, 7)
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	size, err := layers[0].Size()
	require.NoError(t, err)
	assert.Equal(t, int64(1<<20), size)
}
