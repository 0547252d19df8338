package export_test

import (
	"context"
	"fmt"
	"time"

	"github.com/berthlabs/berth/scan/export"
	"github.com/berthlabs/berth/sqldb"
)

func Example() {
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	s, err := export.New(ctx, db)
	if err != nil {
		panic(err)
	}
	e, err := s.Run(ctx, export.Owner{Name: "alice", Since: time.Unix(1, 0).UTC()}, export.Criteria{Projects: []int64{7}},
		func(_ context.Context, emit func(export.Record) error) error {
			return emit(export.Record{Project: "shop", Repository: "shop/api", Digest: "sha256:4d2c",
				CVE: "CVE-2024-0001", Package: "openssl", Version: "3.0.1", FixVersion: "3.0.2", Severity: "Critical"})
		})
	if err != nil {
		panic(err)
	}
	f, err := s.File(ctx, e.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Status, e.Records)
	fmt.Print(string(f))
	// Output:
	// Success 1
	// Project,Repository,Digest,Tags,CVE,Package,Version,Fixed Version,Severity,CVSS3 Score,CVSS3 Vector,CWE IDs,Description
	// shop,shop/api,sha256:4d2c,,CVE-2024-0001,openssl,3.0.1,3.0.2,Critical,,,,
}
