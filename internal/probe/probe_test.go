package probe_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/probe"
)

type statusErr struct{ code int }

func (e statusErr) Error() string   { return "remote said: SECRET-BODY" }
func (e statusErr) HTTPStatus() int { return e.code }

func TestReasonOfErrors(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{statusErr{500}, "answered HTTP 500 Internal Server Error"},
		{fmt.Errorf("wrapped: %w", statusErr{401}), "answered HTTP 401 Unauthorized"},
		{statusErr{599}, "answered HTTP 599"},
		{context.DeadlineExceeded, "timed out"},
		{context.Canceled, "the check was cancelled"},
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, "the host name does not resolve"},
		{io.ErrUnexpectedEOF, "the connection was closed before an answer"},
		{errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "SSH-2.0-OpenSSH_9.6"`), "no valid answer"},
	} {
		assert.Equal(t, tt.want, probe.Reason(tt.err), "%v", tt.err)
	}
}

// TestReasonOfRealFailures provokes the failures a ping meets and checks
// their wording, which never carries what the remote sent.
func TestReasonOfRealFailures(t *testing.T) {
	get := func(t *testing.T, c *http.Client, url string) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		require.Error(t, err)
		return err
	}
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		assert.Equal(t, "connection refused", probe.Reason(get(t, http.DefaultClient, "http://"+addr+"/")))
	})
	t.Run("not HTTP", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_SECRET-BANNER\r\n"))
			_ = c.Close()
		}()
		r := probe.Reason(get(t, http.DefaultClient, "http://"+ln.Addr().String()+"/"))
		assert.NotContains(t, r, "SECRET")
	})
	t.Run("plain HTTP on https", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "SECRET") }))
		defer srv.Close()
		r := probe.Reason(get(t, http.DefaultClient, strings.Replace(srv.URL, "http://", "https://", 1)))
		assert.NotContains(t, r, "SECRET")
		assert.NotEmpty(t, r)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer srv.Close()
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
		assert.Contains(t, probe.Reason(get(t, c, srv.URL)), "certificate is not trusted")
	})
}
