package diskcache_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/diskcache"
	"github.com/berthlabs/berth/storage/memory"
)

// A cache of 1 GiB in front of a remote driver (in production an s3.Driver;
// here a memory one). Pushes go to the remote; the first pull fetches the
// blob into the cache, the next ones are local files.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "berth-cache")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	d, err := diskcache.New(memory.New(), dir, 1<<30)
	if err != nil {
		log.Fatal(err)
	}
	content := []byte("a hot layer")
	dgst := digest.FromBytes(content)
	if _, err := storage.Put(ctx, d, dgst, bytes.NewReader(content)); err != nil {
		log.Fatal(err)
	}

	for range 2 {
		rc, err := d.Open(ctx, dgst)
		if err != nil {
			log.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%T %q\n", rc, got)
	}
	st := d.Stats()
	fmt.Printf("hits %d, misses %d, %d file of %d bytes\n", st.Hits, st.Misses, st.Files, st.Bytes)
	// Output:
	// *os.File "a hot layer"
	// *os.File "a hot layer"
	// hits 1, misses 1, 1 file of 11 bytes
}
