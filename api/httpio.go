package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Bounds.
const (
	maxBody         = 1 << 20 // request bodies
	defaultPageSize = 10
	harborPageSize  = 100 // the largest page Harbor serves, and every store here
	// allPageSize bounds page_size, and page_size=0, which Harbor's clients
	// send to mean "everything": a listing longer than one page of its
	// store still answers X-Total-Count and a Link to the next page (whose
	// page_size may be above Harbor's 100), so nothing is silently cut.
	allPageSize     = 10000
	headerRequestID = "X-Request-Id"
)

// requestID echoes a sane X-Request-Id or makes one up.
func requestID(r *http.Request) string {
	if id := r.Header.Get(headerRequestID); id != "" && len(id) <= 64 &&
		!strings.ContainsFunc(id, func(c rune) bool { return c <= ' ' || c > '~' }) {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only for types this package defines: a bug
		status, body = http.StatusInternalServerError, []byte(`{"errors":[{"code":"INTERNAL_SERVER_ERROR","message":"cannot encode the answer"}]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// decodeBody reads one JSON value of at most maxBody bytes into v, sent as
// application/json (415 otherwise: see requireJSON). Unknown fields are
// ignored (Harbor clients send more than this API reads).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := &limitedBody{r: http.MaxBytesReader(w, r.Body, maxBody)}
	if err := requireJSON(r, body); err != nil {
		return err
	}
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		switch {
		case body.tooBig != nil:
			return body.tooBig
		case errors.Is(err, io.EOF):
			return emptyBodyError{}
		}
		return badRequest("malformed JSON body: " + err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if body.tooBig != nil {
			return body.tooBig
		}
		return badRequest("malformed JSON body: unexpected data after the JSON value")
	}
	return nil
}

// limitedBody remembers that the body went over its limit: JSON decoders
// do not all wrap read errors (encoding/json under GOEXPERIMENT=jsonv2
// flattens them to text), so errors.As on the decode error is not enough.
type limitedBody struct {
	r      io.Reader
	tooBig *http.MaxBytesError
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && b.tooBig == nil {
		errors.As(err, &b.tooBig)
	}
	return n, err
}

// emptyBodyError is decodeBody's answer to an empty body: a 400, unless
// the endpoint takes an optional body.
type emptyBodyError struct{}

func (emptyBodyError) Error() string { return "the request body is empty; send a JSON object" }

func isEmptyBody(err error) bool { return errors.As(err, new(emptyBodyError)) }

// page is a page request: page is 1-based.
type page struct{ num, size int }

func (p page) offset() int { return (p.num - 1) * p.size }

// parsePage reads page and page_size (default 1 and 10, page_size at most
// allPageSize). As in Harbor, page_size=0 means all (up to allPageSize) and page=0
// is the first page: Harbor's SDK and CLI list with page=0&page_size=0.
func parsePage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{num: 1, size: defaultPageSize}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1<<20 {
			return p, badRequest(fmt.Sprintf("page %q: want a number from 1", s))
		}
		p.num = max(n, 1)
	}
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > allPageSize {
			return p, badRequest(fmt.Sprintf("page_size %q: want a number from 1 to %d, or 0 for all", s, allPageSize))
		}
		p.size = n
		if n == 0 {
			p.size = allPageSize
		}
	}
	return p, nil
}

// setPageHeaders sets X-Total-Count and an RFC 5988 Link header with the
// previous and next pages, keeping the request's other query parameters.
func setPageHeaders(w http.ResponseWriter, r *http.Request, p page, total int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	link := func(num int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(num))
		q.Set("page_size", strconv.Itoa(p.size))
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return "<" + u.String() + `>; rel="` + rel + `"`
	}
	var links []string
	if p.num > 1 && p.offset() <= total {
		links = append(links, link(p.num-1, "prev"))
	} else if p.num > 1 {
		last := max(1, (total+p.size-1)/p.size)
		links = append(links, link(last, "prev"))
	}
	if p.offset()+p.size < total {
		links = append(links, link(p.num+1, "next"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, " , "))
	}
}

// pageOf cuts one page out of a list held in memory.
func pageOf[T any](all []T, p page) []T {
	lo := min(p.offset(), len(all))
	hi := min(lo+p.size, len(all))
	return all[lo:hi]
}

// decodeAs reads the request body as one JSON T (see decodeBody).
func decodeAs[T any](c *call) (T, error) {
	var v T
	err := decodeBody(c.w, c.r, &v)
	return v, err
}

// convertAll converts each item of a list, as toJSON shows it.
func convertAll[T, J any](items []T, toJSON func(*T) J) []J {
	out := make([]J, 0, len(items))
	for i := range items {
		out = append(out, toJSON(&items[i]))
	}
	return out
}

// raw answers 200 with b as a body of contentType.
func (c *call) raw(contentType string, b []byte) error {
	c.w.Header().Set("Content-Type", contentType)
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(b)
	return nil
}
