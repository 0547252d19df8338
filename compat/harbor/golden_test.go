package harbor_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// update rewrites the golden list testdata/not-served.txt from what
// TestOperationsServed found, keeping the reasons already written.
var update = flag.Bool("update", false, "rewrite testdata/not-served.txt, keeping its reasons")

// unexplainedReason marks an entry -update added that nobody explained yet.
const unexplainedReason = "UNEXPLAINED"

// readReasons reads a list of operationId<TAB>reason lines; # starts a
// comment line. A missing file is an empty list.
func readReasons(t testing.TB, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return map[string]string{}
	}
	require.NoError(t, err)
	defer f.Close()
	reasons := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, "\t")
		id = strings.TrimSpace(id)
		require.NotContains(t, id, " ", "%s:%d: want operationId<TAB>reason", file, n)
		_, dup := reasons[id]
		require.False(t, dup, "%s:%d: %s twice", file, n, id)
		reasons[id] = strings.TrimSpace(reason)
	}
	require.NoError(t, sc.Err())
	return reasons
}

// writeReasons writes ops (sorted) as operationId<TAB>reason lines under
// header: an op's old reason, else fallback(op) if given, else UNEXPLAINED.
func writeReasons(t testing.TB, file, header string, ops []harborOp, reasons map[string]string, fallback ...func(harborOp) string) {
	t.Helper()
	sortOps(ops)
	var b strings.Builder
	b.WriteString(header + "\n")
	tag := ""
	for _, o := range ops {
		if o.Tag != tag {
			fmt.Fprintf(&b, "\n# %s\n", o.Tag)
			tag = o.Tag
		}
		r := reasons[o.ID]
		if r == "" && len(fallback) > 0 {
			r = fallback[0](o)
		}
		if r == "" {
			r = unexplainedReason
		}
		fmt.Fprintf(&b, "%s\t%s\n", o.ID, r)
	}
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o644))
	t.Logf("wrote %s (%d operations)", file, len(ops))
}
