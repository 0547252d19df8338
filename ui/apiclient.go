package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiBase is where the management API lives on the handler New is given.
const apiBase = "/api/v2.0"

// maxAPIAnswer bounds an answer a page reads.
const maxAPIAnswer = 64 << 20

// csrfHeader is the header the session middleware puts its token in (and
// wants back on state changes).
const csrfHeader = "X-Harbor-Csrf-Token"

// apiError is an answer of the API that is not a success.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Message }

// statusOf is err's HTTP status: the API's, or 500.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// client makes the API calls behind one page, as the browser that asked
// for it: with its cookie, its CSRF token and its address.
type client struct {
	api  http.Handler
	from *http.Request
	csrf string
}

// answer is a buffered API answer.
type answer struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *answer) Header() http.Header { return a.header }
func (a *answer) Write(p []byte) (int, error) {
	if a.body.Len()+len(p) > maxAPIAnswer {
		return 0, errors.New("API answer too large")
	}
	return a.body.Write(p)
}
func (a *answer) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

// do sends one request to the API handler; path is relative to the API
// base unless it starts with "/c/". body, when not nil, is sent as JSON
// (or as a form, when it is url.Values).
func (c *client) do(method, path string, body any) (*answer, error) {
	target := apiBase + path
	if strings.HasPrefix(path, "/c/") {
		target = path
	}
	var rd io.Reader = http.NoBody
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ctype = bytes.NewReader(js), "application/json"
	}
	r, err := http.NewRequestWithContext(c.from.Context(), method, target, rd)
	if err != nil {
		return nil, err
	}
	r.Host = c.from.Host
	r.RemoteAddr = c.from.RemoteAddr
	r.TLS = c.from.TLS
	for _, h := range []string{"Cookie", "Accept-Language", "User-Agent", "Origin", "Sec-Fetch-Site"} {
		if v := c.from.Header.Values(h); len(v) > 0 {
			r.Header[h] = v
		}
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	r.Header.Set("Accept", "application/json")
	if c.csrf != "" {
		r.Header.Set(csrfHeader, c.csrf)
	}
	a := &answer{header: http.Header{}}
	c.api.ServeHTTP(a, r)
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if a.status >= 300 {
		return a, &apiError{Status: a.status, Message: errorMessage(a)}
	}
	return a, nil
}

// errorMessage is the message of an API error answer.
func errorMessage(a *answer) string {
	var e struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if json.Unmarshal(a.body.Bytes(), &e) == nil && len(e.Errors) > 0 && e.Errors[0].Message != "" {
		return e.Errors[0].Message
	}
	if msg := strings.TrimSpace(a.body.String()); msg != "" && len(msg) < 500 {
		return msg
	}
	return fmt.Sprintf("%d %s", a.status, http.StatusText(a.status))
}

// get reads path's JSON answer into out and returns the answer (for its
// X-Total-Count).
func (c *client) get(path string, out any) (*answer, error) {
	a, err := c.do(http.MethodGet, path, nil)
	if err != nil {
		return a, err
	}
	if out != nil {
		if err := json.Unmarshal(a.body.Bytes(), out); err != nil {
			return a, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	return a, nil
}

// send makes a state-changing call with a JSON body (nil for none) and
// reads the answer into out, when not nil.
func (c *client) send(method, path string, body, out any) (*answer, error) {
	a, err := c.do(method, path, body)
	if err != nil {
		return a, err
	}
	if out != nil && a.body.Len() > 0 {
		if err := json.Unmarshal(a.body.Bytes(), out); err != nil {
			return a, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	return a, nil
}

// total is a list answer's X-Total-Count, or -1.
func (a *answer) total() int {
	n, err := strconv.Atoi(a.header.Get("X-Total-Count"))
	if err != nil {
		return -1
	}
	return n
}

// location is the id at the end of a created resource's Location.
func (a *answer) location() string {
	loc := a.header.Get("Location")
	return loc[strings.LastIndex(loc, "/")+1:]
}

// esc escapes one path segment of an API path.
func esc(s string) string { return url.PathEscape(s) }

// repoPath escapes a repository name for the API's paths, which want
// slashes inside it encoded twice (Harbor's convention).
func repoPath(name string) string {
	return url.PathEscape(strings.ReplaceAll(name, "/", "%2F"))
}
