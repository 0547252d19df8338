package main

import (
	"flag"
	"time"
)

// trivyConfig configures the built-in Trivy scanner. The flags exist in
// every build, so one command line serves both; only a build with
// GOEXPERIMENT=jsonv2 (which Trivy needs) compiles Trivy in.
type trivyConfig struct {
	enabled      bool
	dbRepository string        // remote OCI repository of the vulnerability DB; "" = Trivy's public ones
	dbInBerth    string        // repository:tag in this server holding the DB (air-gapped sites)
	dbUpdate     string        // cron spec of DB updates
	retry        time.Duration // how often to retry opening the scanner while it has no DB
}

func (c *trivyConfig) addFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.enabled, "trivy", true, "scan with the built-in Trivy scanner (in builds with GOEXPERIMENT=jsonv2)")
	fs.StringVar(&c.dbRepository, "trivy-db-repository", "", "OCI repository of Trivy's vulnerability DB (default: Trivy's public ones)")
	fs.StringVar(&c.dbInBerth, "trivy-db-from-berth", "", "read Trivy's vulnerability DB from this repository:tag in this server (air-gapped sites), e.g. system/trivy-db:2")
	fs.StringVar(&c.dbUpdate, "trivy-db-update", "@every 6h", "cron schedule of vulnerability DB updates (never during a scan)")
	fs.DurationVar(&c.retry, "trivy-retry", time.Minute, "while the vulnerability DB is unavailable, retry fetching it this often")
}
