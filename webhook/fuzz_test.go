package webhook_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/berthlabs/berth/webhook"
)

// FuzzParseAddress: whatever a caller sends as a target address, the
// check never panics, and what it accepts is an absolute http(s) URL with
// a host, no user information, within bounds, that it accepts again
// unchanged.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"https://ci.example/hook", "http://10.0.0.1:8080/x?y=z", "HTTP://[::1]:80/", "ftp://x/",
		"https://u:p@x/", "http:opaque", "https:///nohost", "javascript:alert(1)", "https://x/#f",
		"https://x:99999/", "https://%zz/", "http://x/\x00", "  https://x  ", "https://x\\@y/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		addr, err := webhook.ParseAddress(raw)
		if err != nil {
			return
		}
		u, perr := url.Parse(addr)
		if perr != nil {
			t.Fatalf("accepted %q as %q, which does not parse: %v", raw, addr, perr)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
			t.Fatalf("accepted %q as %q", raw, addr)
		}
		if len(addr) > webhook.MaxAddressLen+16 || strings.ContainsAny(addr, " \t\r\n") {
			t.Fatalf("accepted %q as %q", raw, addr)
		}
		again, err := webhook.ParseAddress(addr)
		if err != nil || again != addr {
			t.Fatalf("%q → %q → %q, %v", raw, addr, again, err)
		}
	})
}

// FuzzVerify: signature checking never panics and accepts only the
// body's own signature.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), []byte(`{"type":"PUSH_ARTIFACT"}`), "sha256=00")
	f.Fuzz(func(t *testing.T, secret, body []byte, header string) {
		if webhook.Verify(secret, body, header) && !strings.EqualFold(header, webhook.Sign(secret, body)) {
			t.Fatalf("verified a foreign signature %q", header)
		}
		if len(secret) > 0 && !webhook.Verify(secret, body, webhook.Sign(secret, body)) {
			t.Fatal("its own signature does not verify")
		}
	})
}
