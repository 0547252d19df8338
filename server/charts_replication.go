package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/chart"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/replicate"
)

// chartReplication lets replication policies that select charts read and
// write the local chart repositories: in-process, through the chart
// handler with no access checks (replication is trusted; its uploads are
// validated and audited as any upload is, by the system actor naming the
// execution). With auth on, a pull into a project that does not exist
// creates it, as for images, and the projects are the project store's.
func chartReplication(w *Assembly) []replicate.ServiceOption {
	if w.charts == nil {
		return nil
	}
	var rt http.RoundTripper = handlerTransport{h: w.charts.Handler(chart.AllowAll)}
	projects := w.charts.ProjectNames
	if w.id != nil {
		pc := &projectCreator{projects: w.id.projects, log: w.log, known: map[string]bool{}}
		w.id.projectChanged = append(w.id.projectChanged, pc.forget)
		rt = chartProjectCreator{next: rt, pc: pc}
		store := w.id.projects
		projects = func(ctx context.Context) ([]string, error) {
			var names []string
			for off := 0; ; off += 100 {
				ps, total, err := store.List(ctx, project.Filter{}, project.Page{Offset: off, Limit: 100})
				if err != nil {
					return nil, err
				}
				for _, p := range ps {
					names = append(names, p.Name)
				}
				if len(ps) == 0 || off+len(ps) >= total {
					return names, nil
				}
			}
		}
	}
	return []replicate.ServiceOption{replicate.WithLocalCharts(rt, projects)}
}

// chartProjectCreator creates the project of a chart upload that does
// not exist yet.
type chartProjectCreator struct {
	next http.RoundTripper
	pc   *projectCreator
}

func (c chartProjectCreator) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost {
		rest, ok := strings.CutPrefix(r.URL.Path, "/api/chartrepo/")
		if name, tail, _ := strings.Cut(rest, "/"); ok && tail == "charts" && name != "" {
			if err := c.pc.ensure(r.Context(), name); err != nil {
				return nil, err
			}
		}
	}
	return c.next.RoundTrip(r)
}

// handlerTransport serves requests with a handler in-process, buffering
// each response: chart archives are bounded (20 MiB by default), and so
// are the listings replication reads.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	in := r.Clone(r.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = r.URL.RequestURI()
	in.RemoteAddr = "internal"
	rw := &bufferedResponse{header: http.Header{}}
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("in-process %s %s aborted: %v", r.Method, r.URL.Path, p)
		}
	}()
	t.h.ServeHTTP(rw, in)
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	body := rw.body.Bytes()
	h := rw.header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{Status: strconv.Itoa(rw.status) + " " + http.StatusText(rw.status), StatusCode: rw.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: r}, nil
}

// bufferedResponse is a ResponseWriter that keeps the response.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}
