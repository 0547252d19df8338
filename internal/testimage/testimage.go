// Package testimage makes large, reproducible images for tests and
// benchmarks that move real bytes: one uncompressed layer of seeded
// random data (incompressible, so transports cannot cheat), the same
// digest for the same size and seed.
//
//	img, err := testimage.Random(200<<20, 1)
package testimage

import (
	"math/rand/v2"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Random is an OCI image with one layer of size bytes drawn from seed.
func Random(size int, seed uint64) (v1.Image, error) {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, size)
	_, _ = rand.NewChaCha8(key).Read(b) // never fails
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return mutate.AppendLayers(img, static.NewLayer(b, types.OCIUncompressedLayer))
}
