package replicate_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/replicate"
)

// secretBody is what a hostile "registry" answers; no error may carry it.
const secretBody = "INTERNAL-SERVICE-SECRET-0123456789"

// recorder is a remote that asks for Basic credentials, records the
// Authorization headers it receives and then answers status with
// secretBody.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newRecorder(t *testing.T, status int) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		rec.mu.Lock()
		rec.auths = append(rec.auths, a)
		rec.mu.Unlock()
		if a == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(secretBody))
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(secretBody))
	}))
	t.Cleanup(rec.Close)
	return rec
}

// credentialed reports whether any request carried credentials.
func (r *recorder) credentialed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.auths {
		if a != "" {
			return true
		}
	}
	return false
}

func TestPingNeverEchoesTheRemote(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusInternalServerError, http.StatusForbidden, http.StatusNotFound} {
		rec := newRecorder(t, status)
		err := replicate.Ping(t.Context(), &replicate.Endpoint{Name: "x", URL: rec.URL, Username: "u", Password: "p"})
		if status == http.StatusOK {
			require.NoError(t, err)
			continue
		}
		require.Error(t, err, "status %d", status)
		assert.NotContains(t, err.Error(), secretBody)
		var pe *replicate.PingError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, status, pe.Status)
		assert.Contains(t, pe.Reason, http.StatusText(status))
		assert.Contains(t, pe.Error(), rec.URL, "names what was pinged")
	}

	// The handshake's own ping failing (a 500 before any challenge) keeps
	// the body in go-containerregistry's error; not in ours.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, secretBody, http.StatusBadGateway)
	}))
	defer srv.Close()
	err := replicate.Ping(t.Context(), &replicate.Endpoint{Name: "x", URL: srv.URL})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secretBody)
	var pe *replicate.PingError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, http.StatusBadGateway, pe.Status)
	assert.Contains(t, pe.Err.Error(), secretBody, "the cause, for the log, keeps it")

	// No answer at all: a closed port.
	srv.Close()
	err = replicate.Ping(t.Context(), &replicate.Endpoint{Name: "x", URL: srv.URL})
	require.ErrorAs(t, err, &pe)
	assert.Zero(t, pe.Status)
	assert.Equal(t, "connection refused", pe.Reason)
}

func TestUpdateEndpointMovingItsPassword(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		ctx := context.Background()
		l := newLocal(t, eng)
		home, elsewhere := newRecorder(t, http.StatusOK), newRecorder(t, http.StatusOK)
		id, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "ep", URL: home.URL, Username: "u", Password: "stored-pw"})
		require.NoError(t, err)
		require.NoError(t, l.svc.PingEndpoint(ctx, replicate.Endpoint{ID: id}))
		require.True(t, home.credentialed())

		// Same origin (a trailing slash, other fields): the password stays.
		require.NoError(t, l.svc.UpdateEndpoint(ctx, replicate.Endpoint{ID: id, Name: "ep", URL: home.URL + "/", Username: "u", Description: "d"}))

		// Another host, port or scheme without the password: refused, nothing
		// changed, and the stored password is not sent there.
		err = l.svc.UpdateEndpoint(ctx, replicate.Endpoint{ID: id, Name: "ep2", URL: elsewhere.URL, Username: "u"})
		require.ErrorIs(t, err, replicate.ErrCredentialRequired)
		require.ErrorIs(t, err, replicate.ErrInvalid)
		assert.Contains(t, err.Error(), "give its password again")
		cur, err := l.svc.Endpoint(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "ep", cur.Name)
		assert.Equal(t, home.URL+"/", cur.URL)
		require.NoError(t, l.svc.PingEndpoint(ctx, replicate.Endpoint{ID: id}))
		assert.False(t, elsewhere.credentialed())

		// Giving both at once is a mistake.
		assert.ErrorIs(t, l.svc.UpdateEndpoint(ctx, replicate.Endpoint{ID: id, Name: "ep", URL: elsewhere.URL,
			Password: "x", ClearPassword: true}), replicate.ErrInvalid)

		// Clearing it moves the endpoint, anonymous.
		require.NoError(t, l.svc.UpdateEndpoint(ctx, replicate.Endpoint{ID: id, Name: "ep", URL: elsewhere.URL, ClearPassword: true}))
		err = l.svc.PingEndpoint(ctx, replicate.Endpoint{ID: id})
		var pe *replicate.PingError
		require.ErrorAs(t, err, &pe, "anonymous now: the recorder wants credentials")
		assert.Equal(t, http.StatusUnauthorized, pe.Status)
		assert.False(t, elsewhere.credentialed())

		// An endpoint without a password moves freely; one given a new
		// password moves with it.
		require.NoError(t, l.svc.UpdateEndpoint(ctx, replicate.Endpoint{ID: id, Name: "ep", URL: home.URL}))
		require.NoError(t, l.svc.UpdateEndpoint(ctx, replicate.Endpoint{ID: id, Name: "ep", URL: elsewhere.URL, Username: "u", Password: "new-pw"}))
		require.NoError(t, l.svc.PingEndpoint(ctx, replicate.Endpoint{ID: id}))
		assert.True(t, elsewhere.credentialed())

		err = l.svc.UpdateEndpoint(ctx, replicate.Endpoint{ID: 999, Name: "none", URL: home.URL})
		assert.True(t, errors.Is(err, replicate.ErrNotFound), "%v", err)
	})
}
