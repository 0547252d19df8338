package distributiontest

import (
	"bufio"
	"net/url"
	"os"
	"regexp"
	"strconv"
)

// Request is one line of the access log.
type Request struct {
	Method    string // GET, HEAD, PUT, ...
	Path      string // the request path, without the query
	Query     string // the raw query
	Status    int
	UserAgent string
}

// The combined log format Distribution writes to stdout:
// 127.0.0.1 - - [07/Dec/2026:06:25:46 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "ua"
// (the user field stays "-": Distribution does not log who authenticated).
var accessLine = regexp.MustCompile(`^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) HTTP/[0-9.]+" (\d{3}) \S+ "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"`)

// Requests returns the requests served so far, across restarts, oldest
// first; nil unless Options.AccessLog was set. Distribution writes a line
// just after it answers, so a test that counts the requests it has just
// made waits for them (require.Eventually).
func (r *Registry) Requests() []Request {
	r.t.Helper()
	f, err := os.Open(r.logPath)
	if err != nil {
		r.t.Fatalf("distributiontest: %v", err)
	}
	defer f.Close()
	var out []Request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := accessLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		status, _ := strconv.Atoi(m[3])
		u, err := url.ParseRequestURI(m[2])
		if err != nil {
			continue
		}
		out = append(out, Request{Method: m[1], Path: u.Path, Query: u.RawQuery, Status: status, UserAgent: m[4]})
	}
	if err := sc.Err(); err != nil {
		r.t.Fatalf("distributiontest: reading the access log: %v", err)
	}
	return out
}

// Count is the number of requests so far that match.
func (r *Registry) Count(match func(Request) bool) int {
	r.t.Helper()
	n := 0
	for _, q := range r.Requests() {
		if match(q) {
			n++
		}
	}
	return n
}
