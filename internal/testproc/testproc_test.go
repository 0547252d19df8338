package testproc_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testproc"
)

// The test binary doubles as the server program: with BERTH_TESTPROC_ADDR
// set it serves HTTP there until killed.
func TestMain(m *testing.M) {
	if addr := os.Getenv("BERTH_TESTPROC_ADDR"); addr != "" {
		_ = http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// Start returns once the program answers; Stop makes its port refuse
// connections; Restart brings it back on the same port.
func TestStartStopRestart(t *testing.T) {
	addr := testproc.FreeAddr(t)
	dir := t.TempDir()
	client := &http.Client{Timeout: time.Second}
	ping := func() error {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	p := testproc.Start(t, testproc.Spec{Name: "self", Stdout: filepath.Join(dir, "out"), Stderr: filepath.Join(dir, "err"),
		Cmd: func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run", "^$")
			cmd.Env = append(os.Environ(), "BERTH_TESTPROC_ADDR="+addr)
			return cmd
		}, Ready: ping})
	require.NoError(t, ping())
	p.Stop()
	_, err := net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err, "stopped: the port refuses")
	p.Stop() // stopping a stopped process does nothing
	p.Restart()
	require.NoError(t, ping())
}
