package fanout_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/berthlabs/berth/proxy/fanout"
)

// Two clients pull the same blob while it is being fetched: the upstream is
// asked once, both get every byte, and the blob is stored once.
func Example() {
	ctx := context.Background()
	spoolDir, err := os.MkdirTemp("", "fanout-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(spoolDir)
	g, err := fanout.New(spoolDir, fanout.WithMaxSize(1<<30))
	if err != nil {
		log.Fatal(err)
	}

	upstream, send := io.Pipe() // the upstream's response body, still arriving
	fetch := func(context.Context) (io.ReadCloser, int64, error) {
		return upstream, 11, nil
	}
	var stored []byte
	commit := func(_ context.Context, spool *os.File, size int64) error {
		b, err := io.ReadAll(spool) // a real store would copy or rename it
		stored = b
		return err
	}

	first, err := g.Open(ctx, "sha256:4c9b…", fetch, commit)
	if err != nil {
		log.Fatal(err)
	}
	defer first.Close()
	second, err := g.Open(ctx, "sha256:4c9b…", fetch, commit) // joins the fill
	if err != nil {
		log.Fatal(err)
	}
	defer second.Close()

	go func() {
		_, _ = send.Write([]byte("layer bytes"))
		_ = send.Close()
	}()
	for _, r := range []*fanout.Reader{first, second} {
		b, err := io.ReadAll(r)
		if err != nil {
			log.Fatal(err) // a failed fill: abort the client's response
		}
		fmt.Printf("reader got %q\n", b)
	}
	if err := g.Close(ctx); err != nil { // waits for the commit
		log.Fatal(err)
	}
	fmt.Printf("stored %q\n", stored)
	fmt.Printf("%+v\n", g.Stats())
	// Output:
	// reader got "layer bytes"
	// reader got "layer bytes"
	// stored "layer bytes"
	// {Fetches:1 Joins:1 Refused:0 InFlight:0}
}
