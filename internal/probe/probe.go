// Package probe words why a request to an address an administrator typed
// (a replication endpoint, a scanner adapter) failed, for the person who
// asked: the status the remote answered, or the kind of network failure,
// and never bytes the remote sent. Echoing them would make a connection
// test a way to read any service the server can reach; the full cause
// belongs in the server's log.
//
//	reason := probe.Reason(err) // "connection refused"
package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
)

// StatusCoder is an error that carries the HTTP status a remote answered.
type StatusCoder interface{ HTTPStatus() int }

// Status words an HTTP status with the standard text, not the remote's
// reason phrase (which is the remote's bytes too).
func Status(code int) string {
	if text := http.StatusText(code); text != "" {
		return fmt.Sprintf("answered HTTP %d %s", code, text)
	}
	return fmt.Sprintf("answered HTTP %d", code)
}

// Reason is a short, fixed wording of why err happened.
func Reason(err error) string {
	var (
		sc      StatusCoder
		dns     *net.DNSError
		header  tls.RecordHeaderError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		name    x509.HostnameError
		verify  *tls.CertificateVerificationError
		netErr  net.Error
	)
	switch {
	case err == nil:
		return "no error"
	case errors.As(err, &sc):
		return Status(sc.HTTPStatus())
	case errors.Is(err, context.Canceled):
		return "the check was cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.As(err, &dns):
		return "the host name does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to the host"
	case errors.As(err, &header):
		return "the remote does not speak TLS (use http:// or the TLS port)"
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &name), errors.As(err, &verify):
		return "its TLS certificate is not trusted (give its CA certificate, or skip verification)"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed before an answer"
	case errors.As(err, new(*net.OpError)):
		return "the connection failed"
	}
	return "no valid answer"
}
