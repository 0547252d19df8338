package registry

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// parseContentRange parses an upload chunk's Content-Range, "<start>-<end>"
// (inclusive), tolerating a "bytes " or "bytes=" prefix and a "/<total>" or
// "/*" suffix that some clients send.
func parseContentRange(s string) (start, end int64, err error) {
	bad := errors.New("Content-Range must be <start>-<end>")
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "bytes="), "bytes ")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		if total := s[i+1:]; total != "*" {
			if _, err := strconv.ParseUint(total, 10, 63); err != nil {
				return 0, 0, bad
			}
		}
		s = s[:i]
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok || a == "" || b == "" || a[0] == '+' || b[0] == '+' {
		return 0, 0, bad
	}
	ua, err1 := strconv.ParseUint(a, 10, 63)
	ub, err2 := strconv.ParseUint(b, 10, 63)
	if err1 != nil || err2 != nil || ua > ub || ub-ua >= math.MaxInt64 { // length end-start+1 must fit in int64
		return 0, 0, bad
	}
	return int64(ua), int64(ub), nil
}
