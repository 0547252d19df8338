package trivy_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/trivy"
	"github.com/berthlabs/berth/storage/memory"
)

// An air-gapped setup: the vulnerability DB lives in a repository of berth
// itself (pushed there by an operator, e.g. with oras), the scanner reads
// both the DB and the images in-process, and refreshes the DB twice a day.
func Example() {
	ctx := context.Background()
	rg, err := registry.New(ctx, memory.New(), nil)
	if err != nil {
		log.Fatal(err)
	}
	s, err := trivy.New(ctx,
		trivy.WithDBRepository("berth.internal/security/trivy-db:2", rg.Transport("trivy-db"), false),
		trivy.WithDBDir("/var/lib/berth/trivy/db"),
		trivy.WithCacheDir("/var/lib/berth/trivy/cache"),
		trivy.WithUpdateSchedule("0 */12 * * *"),
		trivy.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	req := scan.Request{
		Artifact: scan.Artifact{Repository: "team/app", Digest: digest.Digest("sha256:…")},
		Source:   scan.Source{Registry: "berth.internal", Transport: rg.Transport("scanner")},
	}
	report, err := s.Scan(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range report.Vulnerabilities {
		fmt.Println(v.Severity, v.ID, v.Package, v.Version, "→", v.FixVersion)
	}
	sbom, err := s.SBOM(ctx, req, scan.CycloneDXJSON)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(sbom) > 0)
}
