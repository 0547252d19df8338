package replicate

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Retry-After comes from the remote registry: any header value gives a
// wait in [0, maxRetryAfter] or none, and never panics.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"2", "0", " 7 ", "+5", "-1", "99999999999999999999", "9223372036854775807",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "soon", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v)
		if !ok && d != 0 {
			t.Fatalf("%q: no wait, but %s", v, d)
		}
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("%q: wait %s out of [0, %s]", v, d, maxRetryAfter)
		}
	})
}

func TestGlobNonASCII(t *testing.T) {
	if !Glob("café/*", "café/app") || Glob("caf?", "café") != true || Glob("é", "e") {
		t.Fatal("patterns match whole characters")
	}
}

func TestParseRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{"2": 2 * time.Second, " 7 ": 7 * time.Second,
		"99999999999999999999": maxRetryAfter, "9223372036854775807": maxRetryAfter, "86401": maxRetryAfter} {
		d, ok := parseRetryAfter(v)
		if !ok || d != want {
			t.Errorf("%q: %s %v, want %s", v, d, ok, want)
		}
	}
	for _, v := range []string{"+5", "-1", "soon", "", "1.5"} {
		if d, ok := parseRetryAfter(v); ok {
			t.Errorf("%q: read as %s", v, d)
		}
	}
}

// Filter patterns and names are user input (policies) and remote input
// (repository and tag names): globs compile or are refused, never panic,
// and a pattern without metacharacters matches exactly itself.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"library/**", "library/a/b"}, {"{a,b}*", "ax"}, {"a/**/b", "a/b"},
		{"{{{", "x"}, {`\`, `\`}, {"**/", "/"}, {"v?.*", "v1.2"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		_ = Glob(pattern, s)
		if utf8.ValidString(pattern) && !strings.ContainsAny(pattern, `*?{},\`) && len(pattern) <= 1024 && !Glob(pattern, pattern) {
			t.Fatalf("literal %q does not match itself", pattern)
		}
	})
}

// Rewrite never yields an empty name or one that starts or ends with a
// slash from a valid repository name.
func FuzzRewrite(f *testing.F) {
	f.Add("library/app", "mirror", 1)
	f.Add("a/b/c", "", -1)
	f.Add("a", "x/", 0)
	f.Fuzz(func(t *testing.T, repo, ns string, replace int) {
		out, err := Rewrite{Namespace: ns, Replace: replace}.Apply(repo)
		if err != nil || !validRepo(repo) {
			return
		}
		if out == "" || strings.HasPrefix(out, "/") || strings.HasSuffix(out, "/") {
			t.Fatalf("Rewrite{%q, %d}.Apply(%q) = %q", ns, replace, repo, out)
		}
	})
}

func validRepo(s string) bool {
	if s == "" || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return false
	}
	return true
}
