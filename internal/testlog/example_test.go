package testlog_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/berthlabs/berth/internal/testlog"
)

func Example() {
	var logs testlog.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { log.Info("worker done", "n", i) })
	}
	wg.Wait()
	fmt.Println(strings.Count(logs.String(), "worker done"))
	// Output: 4
}
