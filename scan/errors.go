package scan

import (
	"github.com/berthlabs/berth/core"
)

// Errors, matched with errors.Is. The Service wraps them so that an API
// maps a caller's mistake to 404, 409 or 400.
var (
	ErrNotFound     = core.ErrNotFound
	ErrExists       = core.ErrExists
	ErrInvalid      = core.ErrInvalid
	ErrNoScanner    = core.New(core.ErrPrecondition, "no scanner configured")
	ErrUnsupported  = core.New(core.ErrPrecondition, "not supported")
	ErrNotScannable = core.New(core.ErrPrecondition, "artifact cannot be scanned")
)
