package registry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/registry"
)

func TestSystemActor(t *testing.T) {
	assert.Equal(t, "(system)", registry.SystemActor(""))
	assert.Equal(t, "(system: trust gate)", registry.SystemActor("trust gate"))
	for actor, want := range map[string]bool{
		"(system)": true, "(system: replication policy \"x\" (1), execution 2)": true,
		"": false, "alice": false, "robot$p+ci": false, "(system": false, "(systematic)": false, "(system: open": false,
	} {
		assert.Equal(t, want, registry.IsSystemActor(actor), actor)
	}
}
