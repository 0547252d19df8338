// Command image builds berth's container image without a Docker daemon
// and without downloading anything: it cross-compiles the reference
// server (with Trivy: GOEXPERIMENT=jsonv2) for each platform, lays the
// static binary onto a root filesystem made from scratch (a non-root
// user, /var/lib/berth, /tmp), and joins the platforms into one OCI index
// whose digest depends only on the source. It writes an OCI image layout,
// pushes, or both; a push can be signed with berth's own cosign signing
// and carry an SPDX SBOM as an OCI 1.1 referrer.
//
//	go run ./deploy/image -out /tmp/berth-oci
//	go run ./deploy/image -push registry.example.com/library/berth:0.1.0 \
//		-sign-key cosign.key         # COSIGN_PASSWORD; BERTH_IMAGE_USERNAME, BERTH_IMAGE_PASSWORD
//	go run ./deploy/image -push 127.0.0.1:5000/library/berth:dev -plain-http
//
// See README.md for the image's layout and how to verify it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/berthlabs/berth/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// cli parses args, builds, and prints the index digest.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var platforms string
	fs.StringVar(&o.src, "src", "", "repository root to build from (default: the go.work directory above the working directory)")
	fs.StringVar(&o.pkg, "package", "./examples/server", "main package to build, relative to -src")
	fs.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated linux/<arch> platforms")
	fs.StringVar(&o.out, "out", "", "write an OCI image layout to this directory")
	fs.StringVar(&o.push, "push", "", "push the index to registry/repository:tag")
	fs.StringVar(&o.signKey, "sign-key", "", "private key signing the pushed index and manifests as cosign sign --key does: cosign's (COSIGN_PASSWORD) or PEM PKCS#8, EC, RSA")
	fs.BoolVar(&o.sbom, "sbom", true, "attach an SPDX SBOM of the binary's Go modules to the pushed index (OCI 1.1 referrer)")
	fs.BoolVar(&o.plainHTTP, "plain-http", false, "push over plain HTTP (local registries)")
	fs.StringVar(&o.username, "username", os.Getenv("BERTH_IMAGE_USERNAME"), "registry user (env BERTH_IMAGE_USERNAME; default: docker config credentials)")
	o.password = os.Getenv("BERTH_IMAGE_PASSWORD")
	fs.StringVar(&o.version, "version", server.Version, "image version label")
	fs.StringVar(&o.revision, "revision", "", "VCS revision label (default: git rev-parse HEAD in -src, when it is a git checkout)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "image: unexpected arguments %q\n", fs.Args())
		return 2
	}
	o.platforms = strings.Split(platforms, ",")
	res, err := run(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "image:", err)
		return 1
	}
	fmt.Fprintln(stdout, res.Index)
	return 0
}
