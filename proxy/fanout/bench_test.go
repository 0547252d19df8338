package fanout_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"

	"github.com/berthlabs/berth/proxy/fanout"
)

// BenchmarkFanout fills a 256 MiB blob from memory for 1 and for 16
// readers that each read it all through 32 KiB reads (what an HTTP
// handler's copy does). MB/s is per reader; aggregate-MB/s counts them all.
func BenchmarkFanout(b *testing.B) {
	data := make([]byte, 256<<20)
	for _, readers := range []int{1, 16} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
			g, err := fanout.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close(context.Background())
			b.SetBytes(int64(len(data)))
			i := 0
			for b.Loop() {
				i++
				readFill(b, g, strconv.Itoa(i), data, readers)
			}
			b.ReportMetric(float64(readers)*float64(len(data))*float64(b.N)/b.Elapsed().Seconds()/1e6, "aggregate-MB/s")
		})
	}
}

// readFill opens n readers of one fill before its body starts, so all of
// them share it, then reads them concurrently to the end.
func readFill(b *testing.B, g *fanout.Group, key string, data []byte, n int) {
	start := make(chan struct{})
	fetch := func(context.Context) (io.ReadCloser, int64, error) {
		return io.NopCloser(&startGate{start: start, r: bytes.NewReader(data)}), int64(len(data)), nil
	}
	readers := make([]*fanout.Reader, n)
	for j := range readers {
		r, err := g.Open(context.Background(), key, fetch, nil)
		if err != nil {
			b.Fatal(err)
		}
		readers[j] = r
	}
	close(start)
	var wg sync.WaitGroup
	for _, r := range readers {
		wg.Go(func() {
			defer r.Close()
			buf := make([]byte, 32<<10)
			var total int
			for {
				k, err := r.Read(buf)
				total += k
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
			if total != len(data) {
				b.Errorf("read %d bytes, want %d", total, len(data))
			}
		})
	}
	wg.Wait()
}

// startGate holds a body's first byte until start is closed.
type startGate struct {
	start <-chan struct{}
	r     io.Reader
}

func (s *startGate) Read(p []byte) (int, error) {
	<-s.start
	return s.r.Read(p)
}
