package replicate

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/stretchr/testify/assert"
)

// A destination's policy refusal ends a task at once; what may pass on
// its own (timeouts, throttling, server errors, the network) is retried.
func TestRefusedForGood(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&statusError{op: "put manifest", status: http.StatusPreconditionFailed}, 412},
		{fmt.Errorf("copy: %w", &statusError{status: http.StatusForbidden}), 403},
		{&transport.Error{StatusCode: http.StatusPreconditionFailed}, 412},
		{fmt.Errorf("put: %w", &transport.Error{StatusCode: http.StatusNotFound}), 404},
		{&statusError{status: http.StatusTooManyRequests}, 0},
		{&statusError{status: http.StatusRequestTimeout}, 0},
		{&transport.Error{StatusCode: http.StatusServiceUnavailable}, 0},
		{&statusError{status: http.StatusInternalServerError}, 0},
		{errors.New("connection reset by peer"), 0},
	} {
		assert.Equal(t, tc.want, refusedForGood(tc.err), "%v", tc.err)
	}
}
