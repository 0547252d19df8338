package memory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/memory"
)

// A blob is written through an upload session that checks its digest, then
// read back by digest.
func Example() {
	ctx := context.Background()
	d := memory.New()

	content := []byte("hello, berth")
	dgst := digest.FromBytes(content)
	if _, err := storage.Put(ctx, d, dgst, bytes.NewReader(content)); err != nil {
		log.Fatal(err)
	}

	rc, err := d.Open(ctx, dgst)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %q\n", dgst, got)

	_, err = storage.Put(ctx, d, dgst, bytes.NewReader([]byte("tampered")))
	fmt.Println(errors.Is(err, storage.ErrDigestMismatch))
	// Output:
	// sha256:29313fea03d592249204d4598a6d7a0edeb807976712e55ee48c79f5cd4f8a11 "hello, berth"
	// true
}
