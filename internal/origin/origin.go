// Package origin names the origin (scheme, host and port) of a URL, the
// unit a browser trusts and the unit a stored credential belongs to:
//
//	origin.Of("HTTPS://Reg.Example:443/v2/") // "https://reg.example", nil
//	origin.Same("http://a:80", "http://a")   // true
package origin

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Of returns the origin of an absolute http(s) URL as a browser sends it
// in an Origin header: lower-case scheme and host, and the port only when
// it is not the scheme's default.
func Of(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("origin: %q is not an absolute http(s) URL", raw)
	}
	return ofParts(u.Scheme, u.Host), nil
}

// OfHost is the origin of host (a Host header: name or address, with an
// optional port) reached over scheme.
func OfHost(scheme, host string) string { return ofParts(scheme, host) }

func ofParts(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		(port == "" || scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	return scheme + "://" + host
}

// Same reports whether two URLs have the same origin; a URL that is not
// absolute http(s) has none, and is the same as nothing.
func Same(a, b string) bool {
	oa, err := Of(a)
	if err != nil {
		return false
	}
	ob, err := Of(b)
	return err == nil && oa == ob
}
