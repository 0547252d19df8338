package audit_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/registry"
)

func TestKindOf(t *testing.T) {
	for actor, want := range map[string]string{
		"":                                    audit.KindAnonymous,
		"alice":                               audit.KindUser,
		"robot$team+ci":                       audit.KindRobot,
		registry.SystemActor(""):              audit.KindSystem,
		registry.SystemActor("built-in scan"): audit.KindSystem,
	} {
		assert.Equal(t, want, audit.KindOf(actor), actor)
	}
}
