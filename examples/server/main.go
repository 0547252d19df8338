// Command server is berth's reference registry server: the OCI distribution
// API on the embedded default (filesystem blobs + SQLite) in one data
// directory.
//
//	go run ./examples/server                 # 127.0.0.1:5000, data under ./data
//	go run ./examples/server -addr :5000 -data /var/lib/berth
//	go run ./examples/server check -data /var/lib/berth
//
// Without a subcommand it serves /v2/ (the registry), /healthz and
// Prometheus /metrics, logs requests and registry events with slog, and
// shuts down gracefully on SIGINT or SIGTERM.
//
// Admin subcommands work on a data directory:
//
//	check    verify that manifests, tags, blob links and blob bytes agree;
//	         exit status 0 when consistent, 1 otherwise
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs the command line args (without the program name) and returns the
// process's exit status: 0 success, 1 failure, 2 bad usage.
func cli(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" {
		return checkCmd(args[1:], stdout, stderr)
	}
	return serveCmd(args, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  server [flags]                                serve the registry
  server check [-data dir] [-sparse-manifests]  verify a data directory

Run "server -h" or "server check -h" for the flags.
`)
}
