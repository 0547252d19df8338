package trivy_test

import (
	"os"
	"testing"

	xos "github.com/aquasecurity/trivy/pkg/x/os"
)

// closedProxy is a proxy on a port nothing listens on.
const closedProxy = "http://127.0.0.1:9"

var proxyVars = []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}

// TestMain points every proxy-aware HTTP client at a closed port before
// anything dials, so a request that would leave this machine (Trivy's
// public DB repositories, a version check) fails at once instead of
// reaching the internet. The tests' registries are in-process or on
// 127.0.0.1, which NO_PROXY exempts.
func TestMain(m *testing.M) {
	for _, k := range proxyVars {
		os.Setenv(k, closedProxy)
	}
	os.Setenv("NO_PROXY", "127.0.0.1,localhost")
	os.Setenv("no_proxy", "127.0.0.1,localhost")
	code := m.Run()
	_ = xos.Cleanup() // Trivy's per-process temp directory
	os.Exit(code)
}
