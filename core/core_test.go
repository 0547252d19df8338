package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/core"
)

func TestHTTPStatus(t *testing.T) {
	notEmpty := core.New(core.ErrPrecondition, "not empty")
	for _, tt := range []struct {
		err    error
		status int
		ok     bool
	}{
		{fmt.Errorf("project %q: %w", "p", core.ErrNotFound), http.StatusNotFound, true},
		{fmt.Errorf("user: %w", core.ErrExists), http.StatusConflict, true},
		{core.ErrInvalid, http.StatusBadRequest, true},
		{core.ErrConflict, http.StatusConflict, true},
		{core.ErrDenied, http.StatusForbidden, true},
		{fmt.Errorf("project %q: %w: it holds charts", "p", notEmpty), http.StatusPreconditionFailed, true},
		{core.ErrUnavailable, http.StatusServiceUnavailable, true},
		{fmt.Errorf("wrapped: %w", &core.StatusError{Status: http.StatusTooManyRequests, Code: "TOOMANYREQUESTS"}), 429, true},
		{errors.New("disk on fire"), http.StatusInternalServerError, false},
	} {
		status, ok := core.HTTPStatus(tt.err)
		assert.Equal(t, tt.status, status, tt.err.Error())
		assert.Equal(t, tt.ok, ok, tt.err.Error())
	}
	assert.Equal(t, "not empty", notEmpty.Error(), "a kind's case reads as itself")
	assert.ErrorIs(t, notEmpty, core.ErrPrecondition)
	assert.NotErrorIs(t, notEmpty, core.ErrInvalid)
}

func TestPageBounded(t *testing.T) {
	assert.Equal(t, core.Page{Limit: 20}, core.Page{Offset: -3}.Bounded(20, 100))
	assert.Equal(t, core.Page{Offset: 5, Limit: 100}, core.Page{Offset: 5, Limit: 1000}.Bounded(20, 100))
	assert.Equal(t, core.Page{Offset: 5, Limit: 7}, core.Page{Offset: 5, Limit: 7}.Bounded(20, 100))
}

func TestValidRepository(t *testing.T) {
	for name, want := range map[string]bool{
		"library/nginx": true, "a": true, "a.b_c__d-e/f--g": true, "team/app/sub": true,
		"": false, "Upper": false, "a//b": false, "/a": false, "a/": false, "a..b": false, "-a": false,
		strings.Repeat("a", 255): true, strings.Repeat("a", 256): false,
	} {
		assert.Equal(t, want, core.ValidRepository(name), name)
	}
}

func TestActor(t *testing.T) {
	ctx := core.WithActor(context.Background(), "alice")
	assert.Equal(t, "alice", core.ActorFrom(ctx))
	assert.Equal(t, "", core.ActorFrom(context.Background()))
	assert.True(t, core.IsSystemActor(core.SystemActor("gc")))
	assert.False(t, core.IsSystemActor("alice"))
}

// A package's error wraps a kind; the HTTP layer answers it without
// knowing the package.
func Example() {
	errNotEmpty := core.New(core.ErrPrecondition, "not empty")
	for _, err := range []error{
		fmt.Errorf("project %q: %w", "team", core.ErrNotFound),
		fmt.Errorf("project %q: %w: it holds 2 repositories", "team", errNotEmpty),
		errors.New("disk full"),
	} {
		status, ok := core.HTTPStatus(err)
		if !ok {
			fmt.Println(status, "internal error")
			continue
		}
		fmt.Println(status, err)
	}
	// Output:
	// 404 project "team": not found
	// 412 project "team": not empty: it holds 2 repositories
	// 500 internal error
}
