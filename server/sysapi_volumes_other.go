//go:build !unix

package server

import (
	"context"

	"github.com/berthlabs/berth/api"
)

// dataVolume reports nothing where the volume's size is not known here.
type dataVolume struct{ dir string }

func (dataVolume) Volumes(context.Context) ([]api.Storage, error) { return nil, nil }
