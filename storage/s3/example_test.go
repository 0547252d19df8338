package s3_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage/s3"
)

// A chunked upload into a bucket of an S3-compatible store (here a MinIO or
// versitygw at localhost:7070), resumed by a second driver as another
// process would, after a restart or on another node. It needs a running
// store, so it is compiled but not run.
func Example() {
	ctx := context.Background()
	open := func() *s3.Driver {
		d, err := s3.New(ctx, "registry",
			s3.WithEndpoint("http://localhost:7070"),
			s3.WithCredentials(os.Getenv("S3_ACCESS_KEY"), os.Getenv("S3_SECRET_KEY")),
			s3.WithPathStyle(),
			s3.WithPrefix("berth/"),
		)
		if err != nil {
			log.Fatal(err)
		}
		return d
	}

	up, err := open().NewUpload(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := up.Write(ctx, strings.NewReader("first chunk, ")); err != nil {
		log.Fatal(err)
	}

	other := open()
	up, err = other.ResumeUpload(ctx, up.ID())
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

	rc, err := other.Open(ctx, dgst)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	content, err := io.ReadAll(rc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", content)
}
