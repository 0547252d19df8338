package publish_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/deploy/image/internal/publish"
)

func TestPushRefusesABadReference(t *testing.T) {
	for _, ref := range []string{"", "no-tag@sha256:abc", "UPPER/case:tag", "host/repo:bad tag", "host/../x:tag"} {
		_, err := publish.Push(t.Context(), empty.Index, ref)
		assert.ErrorContains(t, err, "want registry/repository:tag", "%q", ref)
	}
}
