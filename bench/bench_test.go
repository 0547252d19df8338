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

// TestAuthOverheadQuick runs only the identity-overhead benchmark (berth
// with auth off, then on) with short windows, under BERTH_BENCH=1 too.
func TestAuthOverheadQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skip("set BERTH_BENCH=1 to run the quick identity-overhead benchmark (starts the berth server)")
	}
	cfg, err := parseFlags([]string{"-auth-overhead", "-quick", "-get-duration", "2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, cfg, &out, testLog{t}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| metric | auth off | token auth + RBAC | basic auth + RBAC |", "req/s overhead vs auth off"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no %q in output:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
