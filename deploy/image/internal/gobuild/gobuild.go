// Package gobuild cross-compiles a Go main package into a static Linux
// binary that is the same, byte for byte, whenever the source is:
//
//	err := gobuild.Build(ctx, gobuild.Target{
//		Dir: repoRoot, Package: "./examples/server", Arch: "arm64",
//		Output: "/tmp/berth-arm64", Experiment: "jsonv2",
//	})
//
// It runs the go command, so the Go build cache makes a second build of
// unchanged source cost only the link.
package gobuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Target is one binary to build.
type Target struct {
	// Dir is where the go command runs: a module or workspace root.
	Dir string
	// Package is the main package, as the go command names it there.
	Package string
	// Arch is GOARCH (amd64, arm64, …); GOOS is always linux.
	Arch string
	// Output is the binary's path.
	Output string
	// Experiment is GOEXPERIMENT ("jsonv2" links Trivy into berth).
	Experiment string
	// GoCmd is the go command; default "go" on PATH.
	GoCmd string
}

// Args is the go command line Build runs (for logs and docs).
func (t Target) Args() []string {
	return []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", t.Output, t.Package}
}

// Env is the environment Build adds to its own: everything that changes
// the binary is fixed here, not inherited (a developer's GOFLAGS or
// GOAMD64 would otherwise change the digest).
func (t Target) Env() []string {
	return []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + t.Arch, "GOEXPERIMENT=" + t.Experiment,
		"GOFLAGS=", "GOAMD64=v1", "GOARM64=v8.0", "GO386=sse2", "GOARM=7"}
}

// Build compiles t; the error carries the go command's output.
func Build(ctx context.Context, t Target) error {
	if t.Dir == "" || t.Package == "" || t.Arch == "" || t.Output == "" {
		return fmt.Errorf("gobuild: Dir, Package, Arch and Output are required (got %+v)", t)
	}
	goCmd := t.GoCmd
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, t.Args()...)
	cmd.Dir = t.Dir
	cmd.Env = append(os.Environ(), t.Env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gobuild: %s %s (in %s, %s): %w\n%s", goCmd, strings.Join(t.Args(), " "),
			t.Dir, strings.Join(t.Env(), " "), err, out.String())
	}
	return nil
}
