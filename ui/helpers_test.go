package ui

import (
	"io/fs"
	"os"
	"testing"
)

// sourceFS is the package's source directory.
func sourceFS(t *testing.T) fs.FS {
	t.Helper()
	return os.DirFS(".")
}
