package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// internalKey marks a request made through Transport.
type internalKey struct{}

func isInternal(ctx context.Context) bool {
	v, _ := ctx.Value(internalKey{}).(bool)
	return v
}

// Transport returns an http.RoundTripper that serves distribution API
// requests with this registry in-process, for trusted components
// (scanners, signers, replication) that speak the API through a client
// such as go-containerregistry's remote package. Any scheme and host work
// in request URLs; only the path is read.
//
// Requests skip the Authorizer and the PullGate (a scanner must read what
// the gate blocks); the PushGate still applies, and events carry actor,
// or the SystemActor a request's context names (a component naming the
// job it works for, such as one replication execution).
// Bodies stream in both directions through pipes: nothing is buffered
// whole.
func (rg *Registry) Transport(actor string) http.RoundTripper {
	return &transport{rg: rg, actor: actor}
}

type transport struct {
	rg    *Registry
	actor string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	actor := t.actor
	if a := ActorFrom(req.Context()); IsSystemActor(a) {
		actor = a
	}
	ctx := context.WithValue(WithActor(req.Context(), actor), internalKey{}, true)
	in := req.Clone(ctx)
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "internal"
	pr, pw := io.Pipe()
	rw := &pipeWriter{header: http.Header{}, body: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			// A panicking handler must not take the process down (net/http
			// recovers its own); the client sees a 500 or a cut body.
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					t.rg.log.Error("registry: panic serving an in-process request", "panic", p, "path", req.URL.Path)
				}
				rw.WriteHeader(http.StatusInternalServerError)
				_ = pw.CloseWithError(fmt.Errorf("registry: in-process request aborted: %v", p))
			}
			rw.WriteHeader(http.StatusOK) // no-op if the handler wrote one
			_ = pw.Close()
			if req.Body != nil {
				_ = req.Body.Close()
			}
		}()
		t.rg.ServeHTTP(rw, in)
	}()
	select {
	case <-rw.ready:
	case <-ctx.Done():
		_ = pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	resp := &http.Response{
		Status:        http.StatusText(rw.status),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.sent,
		Body:          pr,
		ContentLength: -1,
		Request:       req,
	}
	if req.Method == http.MethodHead {
		resp.Body = http.NoBody
		_ = pr.Close()
	}
	if cl := rw.sent.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			resp.ContentLength = n
		}
	}
	return resp, nil
}

// pipeWriter is a ResponseWriter whose body flows into a pipe; ready
// closes when the status line is decided.
type pipeWriter struct {
	header http.Header
	sent   http.Header
	status int
	body   *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	n, err := w.body.Write(p)
	if errors.Is(err, io.ErrClosedPipe) {
		err = http.ErrAbortHandler
	}
	return n, err
}
