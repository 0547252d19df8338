package filesystem_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage/filesystem"
)

// A chunked upload: each Write is durable when it returns, so the session can
// be resumed by ID, here by a second driver as after a restart.
func Example() {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "berth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	d, err := filesystem.New(root)
	if err != nil {
		log.Fatal(err)
	}
	up, err := d.NewUpload(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := up.Write(ctx, strings.NewReader("first chunk, ")); err != nil {
		log.Fatal(err)
	}

	restarted, err := filesystem.New(root)
	if err != nil {
		log.Fatal(err)
	}
	up, err = restarted.ResumeUpload(ctx, up.ID())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("resumed at", up.Size())
	if _, err := up.Write(ctx, strings.NewReader("second chunk")); err != nil {
		log.Fatal(err)
	}
	dgst := digest.FromString("first chunk, second chunk")
	if err := up.Commit(ctx, dgst); err != nil {
		log.Fatal(err)
	}

	f, err := restarted.Open(ctx, dgst)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	content, err := io.ReadAll(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%T %q\n", f, content)
	// Output:
	// resumed at 13
	// *os.File "first chunk, second chunk"
}
