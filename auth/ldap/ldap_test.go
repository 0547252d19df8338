package ldap

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests that need no LDAP server; slapd_test.go has the real-server ones.

func TestRejectsBeforeDialing(t *testing.T) {
	var dials atomic.Int32
	a, err := New(Config{URL: "ldap://ldap.invalid", BaseDN: "dc=x"},
		WithDialer(func(context.Context, string, string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("must not dial")
		}))
	require.NoError(t, err)
	long := string(make([]byte, maxUsernameLen+1))
	for _, c := range []struct{ user, pass string }{
		{"alice", ""}, // an empty password would be an anonymous bind
		{"", "secret"},
		{long, "secret"},
		{"alice", string(make([]byte, maxPasswordLen+1))},
	} {
		_, err := a.Authenticate(context.Background(), c.user, c.pass)
		assert.ErrorIs(t, err, ErrInvalidCredentials)
	}
	assert.Zero(t, dials.Load(), "nothing is sent to the server")
}

func TestServerDownIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	a, err := New(Config{URL: "ldap://" + addr, BaseDN: "dc=x", Timeout: time.Second})
	require.NoError(t, err)
	start := time.Now()
	_, err = a.Authenticate(context.Background(), "alice", "pw")
	require.ErrorIs(t, err, ErrUnavailable)
	assert.NotErrorIs(t, err, ErrInvalidCredentials)
	assert.Less(t, time.Since(start), time.Second)
	require.ErrorIs(t, a.Ping(context.Background()), ErrUnavailable)
}

// A server that accepts connections and never answers: Timeout bounds
// every step, so the call fails with ErrUnavailable instead of hanging.
func TestSilentServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu       sync.Mutex
		accepted []net.Conn // held open, never answered
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range accepted {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
	}()
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"ldap", Config{URL: "ldap://" + l.Addr().String()}},
		{"ldaps handshake", Config{URL: "ldaps://" + l.Addr().String()}},
		{"StartTLS", Config{URL: "ldap://" + l.Addr().String(), StartTLS: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.BaseDN, cfg.Timeout = "dc=x", 300*time.Millisecond
			a, err := New(cfg)
			require.NoError(t, err)
			start := time.Now()
			_, err = a.Authenticate(context.Background(), "alice", "pw")
			require.ErrorIs(t, err, ErrUnavailable)
			assert.Less(t, time.Since(start), 2*time.Second, "Timeout is honoured")

			// The caller's context is honoured too.
			cfg.Timeout = time.Minute
			a, err = New(cfg)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start = time.Now()
			err = a.Ping(ctx)
			require.ErrorIs(t, err, ErrUnavailable)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), 2*time.Second)
		})
	}
}

func TestMaxConnectionsWaitsWithinContext(t *testing.T) {
	a, err := New(Config{URL: "ldap://ldap.invalid", BaseDN: "dc=x", MaxConnections: 1})
	require.NoError(t, err)
	a.slots <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = a.Authenticate(ctx, "alice", "pw")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "waiting for a connection slot")
}
