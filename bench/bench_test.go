package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestQuick runs the whole benchmark in -quick mode as a smoke test. It makes
// no timing assertions; it fails only on errors (failed requests, digest
// mismatches, servers that do not start). Extra flags may be passed in
// BERTH_BENCH_ARGS, e.g. BERTH_BENCH_ARGS="-peers distribution".
func TestQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skip("set BERTH_BENCH=1 to run the quick benchmark (starts Distribution and the berth server)")
	}
	args := append([]string{"-quick"}, strings.Fields(os.Getenv("BERTH_BENCH_ARGS"))...)
	cfg, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, cfg, &out, testLog{t}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| workload |") {
		t.Fatalf("no table in output:\n%s", out.String())
	}
	t.Log("\n" + out.String())
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
