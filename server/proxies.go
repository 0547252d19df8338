package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// parsePrefixes parses CIDR prefixes or bare addresses (a bare address is
// a /32 or /128).
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q: want an address or a CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// behindProxies makes r.RemoteAddr the client's address when the request
// comes through a trusted reverse proxy: the right-most X-Forwarded-For
// entry that is not itself a trusted proxy. Throttling and the audit log
// count by RemoteAddr; without this, every client behind a proxy would
// share the proxy's address. Requests from other peers are left alone, so
// a client cannot forge its address with the header.
func behindProxies(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		a = a.Unmap().WithZone("")
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil || !isTrusted(host) {
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop := strings.TrimSpace(hops[i])
			if hop == "" || isTrusted(hop) {
				continue
			}
			if a, err := netip.ParseAddr(hop); err == nil {
				r2 := r.Clone(r.Context())
				r2.RemoteAddr = netip.AddrPortFrom(a.Unmap(), 0).String()
				next.ServeHTTP(w, r2)
				return
			}
			break // garbage where the client should be: keep the proxy's
		}
		next.ServeHTTP(w, r)
	})
}
