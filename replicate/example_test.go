package replicate_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/replicate"
	"github.com/berthlabs/berth/storage/memory"
)

// Filters select the repositories and tags a policy replicates, and a
// Rewrite names them at the destination: no registry, no network.
func Example_filters() {
	filters := []replicate.Filter{
		{Type: replicate.FilterName, Value: "library/**"},
		{Type: replicate.FilterName, Value: "library/internal/*", Decoration: replicate.Excludes},
		{Type: replicate.FilterTag, Value: "v*"},
		{Type: replicate.FilterTag, Value: "*-rc*", Decoration: replicate.Excludes},
	}
	rw := replicate.Rewrite{Namespace: "dc2", Replace: 1} // library/x → dc2/x
	for _, repo := range []string{"library/nginx", "library/team/api", "library/internal/secrets", "tools/ci"} {
		if !replicate.MatchRepository(filters, repo) {
			fmt.Println("skip", repo)
			continue
		}
		dst, err := rw.Apply(repo)
		if err != nil {
			log.Fatal(err)
		}
		var tags []string
		for _, tag := range []string{"latest", "v1", "v2-rc1", "v2"} {
			if replicate.MatchTag(filters, tag) {
				tags = append(tags, tag)
			}
		}
		fmt.Println(repo, "→", dst, tags)
	}
	flat, _ := replicate.Rewrite{Namespace: "mirror", Replace: replicate.FlattenAll}.Apply("library/team/api")
	fmt.Println("flattened:", flat)
	// Output:
	// library/nginx → dc2/nginx [v1 v2]
	// library/team/api → dc2/team/api [v1 v2]
	// skip library/internal/secrets
	// skip tools/ci
	// flattened: mirror/api
}

// A Copier copies an artifact between two registries, moving only what
// the destination lacks.
func ExampleCopier() {
	ctx := context.Background()
	serve := func() string {
		reg, err := registry.New(ctx, memory.New(), nil)
		if err != nil {
			log.Fatal(err)
		}
		return httptest.NewServer(reg).URL
	}
	srcURL, dstURL := serve(), serve()

	img, _ := random.Image(1024, 2) // two layers and a config
	ref, _ := name.ParseReference(strings.TrimPrefix(srcURL, "http://")+"/library/app:v1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		log.Fatal(err)
	}

	cp, err := replicate.NewCopier(&replicate.Endpoint{Name: "src", URL: srcURL}, &replicate.Endpoint{Name: "dst", URL: dstURL})
	if err != nil {
		log.Fatal(err)
	}
	res, err := cp.Copy(ctx, "library/app", "v1", "mirror/app", []string{"v1"}, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("blobs copied:", res.BlobsCopied, "manifests:", res.Manifests)
	res, err = cp.Copy(ctx, "library/app", "v1", "mirror/app", []string{"v1"}, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("again: skipped:", res.Skipped, "bytes:", res.Bytes)
	// Output:
	// blobs copied: 3 manifests: 1
	// again: skipped: true bytes: 0
}
