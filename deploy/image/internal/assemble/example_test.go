package assemble_test

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berthlabs/berth/deploy/image/internal/assemble"
)

func Example() {
	m := assemble.Meta{Created: time.Unix(0, 0), Version: "0.1.0"}
	amd, _ := assemble.Image([]byte("a static linux/amd64 binary"), "amd64", m)
	arm, _ := assemble.Image([]byte("a static linux/arm64 binary"), "arm64", m)
	idx, _ := assemble.Index([]v1.Image{amd, arm}, m)
	cf, _ := amd.ConfigFile()
	im, _ := idx.IndexManifest()
	fmt.Println(cf.Config.User, cf.Config.Entrypoint, len(im.Manifests))
	// Output: 65532:65532 [/usr/bin/berth] 2
}
