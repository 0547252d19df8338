package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// conn is one connection, used for one call and closed.
type conn struct {
	*goldap.Conn
	stop    func() bool // unregisters the close-on-cancel hook
	release func()      // frees the connection slot
}

func (c *conn) close() {
	c.stop()
	c.Conn.Close()
	c.release()
}

// connect takes a connection slot, dials, upgrades to TLS as configured and
// arranges for the connection to be closed when ctx ends, which aborts any
// request in flight.
func (a *Authenticator) connect(ctx context.Context) (*conn, error) {
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, a.fail(ctx, "waiting for a connection slot", ctx.Err())
	}
	release := func() { <-a.slots }

	dialCtx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	raw, err := a.dial(dialCtx, "tcp", a.ep.addr)
	if err != nil {
		release()
		return nil, a.fail(ctx, "connect to "+a.ep.addr, err)
	}
	switch {
	case a.ep.tls:
		tc := tls.Client(raw, a.tlsConfig)
		if err := tc.HandshakeContext(dialCtx); err != nil {
			raw.Close()
			release()
			return nil, a.fail(ctx, "TLS handshake with "+a.ep.addr, err)
		}
		raw = tc
	case a.cfg.StartTLS:
		tc, err := startTLS(dialCtx, raw, a.tlsConfig)
		if err != nil {
			raw.Close()
			release()
			return nil, a.fail(ctx, "StartTLS with "+a.ep.addr, err)
		}
		raw = tc
	}
	lc := goldap.NewConn(raw, a.ep.tls || a.cfg.StartTLS)
	lc.Start()
	lc.SetTimeout(a.cfg.Timeout)
	stop := context.AfterFunc(ctx, func() { lc.Close() })
	return &conn{Conn: lc, stop: stop, release: release}, nil
}

// startTLS runs the StartTLS extended operation (RFC 4511 4.14) on raw and
// performs the handshake. It is done here rather than by go-ldap so that
// the handshake honours ctx and a certificate error keeps its type.
func startTLS(ctx context.Context, raw net.Conn, cfg *tls.Config) (net.Conn, error) {
	if deadline, ok := ctx.Deadline(); ok {
		if err := raw.SetDeadline(deadline); err != nil {
			return nil, err
		}
	}
	packet := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	packet.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "MessageID"))
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationExtendedRequest, nil, "Start TLS")
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.1466.20037", "TLS Extended Command"))
	packet.AppendChild(req)
	if _, err := raw.Write(packet.Bytes()); err != nil {
		return nil, err
	}
	resp, err := ber.ReadPacket(raw)
	if err != nil {
		return nil, err
	}
	if err := goldap.GetLDAPError(resp); err != nil {
		return nil, fmt.Errorf("server refused StartTLS: %w", err)
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return tc, nil
}

// fail wraps err from step with the sentinel that classifies it.
func (a *Authenticator) fail(ctx context.Context, step string, err error) error {
	ctxErr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(d) {
		ctxErr = context.DeadlineExceeded // a socket deadline set from ctx fired first
	}
	if ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %s: %w", ErrUnavailable, step, ctxErr)
		}
		return fmt.Errorf("ldap: %s: %w", step, ctxErr)
	}
	switch {
	case isTLSError(err):
		return fmt.Errorf("%w: %s: %w", ErrTLS, step, err)
	case isUnavailable(err):
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, step, err)
	}
	return fmt.Errorf("ldap: %s: %w", step, err)
}

// connLost marks err as a dropped connection when s is a connection that
// closed under it: go-ldap reports a peer that hung up mid-request as a
// plain error ("unable to read LDAP response packet: EOF").
func connLost(s any, err error) error {
	if c, ok := s.(interface{ IsClosing() bool }); ok && c.IsClosing() && !isUnavailable(err) {
		return goldap.NewError(goldap.ErrorNetwork, err)
	}
	return err
}

func isTLSError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record) || errors.As(err, &alert)
}

// isUnavailable reports errors that say the server cannot be reached or
// cannot answer now, as opposed to errors that it answered.
func isUnavailable(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return goldap.IsErrorAnyOf(err, goldap.ErrorNetwork, goldap.LDAPResultBusy,
		goldap.LDAPResultUnavailable, goldap.LDAPResultTimeLimitExceeded, goldap.LDAPResultServerDown,
		goldap.LDAPResultTimeout, goldap.LDAPResultConnectError)
}

// isBadPassword reports a bind refused for its credentials. Active
// Directory also uses it for locked, disabled and expired accounts.
func isBadPassword(err error) bool {
	return goldap.IsErrorAnyOf(err, goldap.LDAPResultInvalidCredentials, goldap.LDAPResultInappropriateAuthentication)
}
