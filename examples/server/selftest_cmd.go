package main

import (
	"fmt"
	"io"
)

// selftestCmd: a placeholder until the Helm chart's test hook lands.
func selftestCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "berth selftest: not built yet")
	return 2
}
