package main

import (
	"fmt"
	"io"
)

// backupCmd and restoreCmd: placeholders until the backup work lands.
func backupCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "berth backup: not built yet")
	return 2
}

func restoreCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "berth restore: not built yet")
	return 2
}
