package filesystem_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/filesystem"
	"github.com/berthlabs/berth/storage/storagetest"
)

func open(t *testing.T, dir string, opts ...filesystem.Option) *filesystem.Driver {
	t.Helper()
	d, err := filesystem.New(dir, opts...)
	require.NoError(t, err)
	return d
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Driver { return open(t, t.TempDir()) })
}

func TestConformanceWithoutFsync(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Driver { return open(t, t.TempDir(), filesystem.WithoutFsync()) })
}

func TestRestart(t *testing.T) {
	storagetest.RunRestart(t, func(t *testing.T, dir string) storage.Driver { return open(t, dir) })
}
