package adapter_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/adapter"
)

// berth's client against berth's server: the server exposes a scanner
// (here a fixed one) over the Pluggable Scanner API, the client is a
// scan.Scanner again.
func Example() {
	scanner := &scan.Static{DBVersion: "2025-01-01T00:00:00Z", Vulnerabilities: []scan.Vulnerability{
		{ID: "CVE-2024-1234", Package: "openssl", Version: "3.0.11", FixVersion: "3.0.12", Severity: scan.Critical},
	}}
	srv := httptest.NewServer(adapter.NewServer(scanner, adapter.WithAuthorizer(adapter.RequireToken("secret"))))
	defer srv.Close()

	client, err := adapter.NewClient(srv.URL, adapter.WithAuth(scan.AuthBearer, "secret"))
	if err != nil {
		log.Fatal(err)
	}
	report, err := client.Scan(context.Background(), scan.Request{
		Artifact: scan.Artifact{Repository: "library/app", Digest: digest.FromString("manifest")},
		Source:   scan.Source{Registry: "registry.example", Authorization: "Basic cm9ib3Q6c2VjcmV0"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range report.Vulnerabilities {
		fmt.Println(v.ID, v.Severity, v.Package, v.Version, "->", v.FixVersion)
	}
	fmt.Println("database", report.DBVersion)
	// Output:
	// CVE-2024-1234 Critical openssl 3.0.11 -> 3.0.12
	// database 2025-01-01T00:00:00Z
}
