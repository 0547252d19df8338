package scan

import "errors"

// Errors, matched with errors.Is. The Service wraps them so that an API
// maps a caller's mistake to 404, 409 or 400.
var (
	ErrNotFound     = errors.New("not found")
	ErrExists       = errors.New("already exists")
	ErrInvalid      = errors.New("invalid")
	ErrNoScanner    = errors.New("no scanner configured")
	ErrUnsupported  = errors.New("not supported")
	ErrNotScannable = errors.New("artifact cannot be scanned")
)
