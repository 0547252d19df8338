package memory_test

import (
	"testing"

	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/memory"
	"github.com/berthlabs/berth/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Driver { return memory.New() })
}
