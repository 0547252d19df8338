//go:build unix

package server

import (
	"context"
	"syscall"

	"github.com/berthlabs/berth/api"
)

// dataVolume reports the size of the volume holding the data directory
// (api.Volumes).
type dataVolume struct{ dir string }

func (v dataVolume) Volumes(context.Context) ([]api.Storage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(v.dir, &st); err != nil {
		return nil, err
	}
	bsize := uint64(st.Bsize)
	return []api.Storage{{Total: st.Blocks * bsize, Free: st.Bavail * bsize}}, nil
}
