package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// selftestPasswordEnv holds the password when -password-file is not given
// (the Helm test pod reads it from the admin Secret).
const selftestPasswordEnv = "BERTH_SELFTEST_PASSWORD"

// selftestCmd pushes a tiny generated image to a running berth, pulls it
// back, compares digests and bytes and deletes it: the Helm chart's test
// hook. It prints one line and exits 0 on success, 1 on failure, 2 on bad
// usage.
func selftestCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "berth's URL (http:// or https://host[:port])")
	user := fs.String("username", "admin", "user to log in as (empty: anonymous)")
	passwordFile := fs.String("password-file", "", "file holding the password (default: $"+selftestPasswordEnv+")")
	repo := fs.String("repository", "library/berth-selftest", "repository to push to (its project must exist)")
	insecure := fs.Bool("insecure", false, "skip TLS certificate verification (self-signed certificates)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	st, err := newSelftest(*rawURL, *repo, *insecure)
	if err == nil {
		st.auth, err = selftestAuth(*user, *passwordFile)
	}
	if err != nil {
		fmt.Fprintln(stderr, "berth selftest:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := st.run(ctx)
	if err != nil {
		fmt.Fprintf(stdout, "berth selftest: FAIL %s: %v\n", st.host, err)
		return 1
	}
	fmt.Fprintf(stdout, "berth selftest: ok: pushed, pulled and compared %s (%d bytes); %s\n", res.ref, res.bytes, res.deleted)
	return 0
}

// selftest is one push-pull-delete round against a registry.
type selftest struct {
	host  string
	repo  string
	opts  []name.Option
	tr    http.RoundTripper
	auth  authn.Authenticator
	layer int64 // bytes of the generated layer
}

type selftestResult struct {
	ref     string
	bytes   int64
	deleted string
}

func newSelftest(rawURL, repo string, insecure bool) (*selftest, error) {
	u, err := url.Parse(rawURL)
	switch {
	case rawURL == "":
		return nil, errors.New("-url is required")
	case err != nil:
		return nil, fmt.Errorf("-url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", strings.Trim(u.Path, "/") != "":
		return nil, fmt.Errorf("-url %q: want http(s)://host[:port] and no path", rawURL)
	}
	st := &selftest{host: u.Host, repo: repo, layer: 1024}
	if u.Scheme == "http" {
		st.opts = append(st.opts, name.Insecure)
	}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with -insecure
	}
	st.tr = tr
	if _, err := name.NewRepository(st.host+"/"+repo, st.opts...); err != nil {
		return nil, fmt.Errorf("-repository: %w", err)
	}
	return st, nil
}

// selftestAuth reads the password from the file or the environment.
func selftestAuth(user, passwordFile string) (authn.Authenticator, error) {
	if user == "" {
		return authn.Anonymous, nil
	}
	password := os.Getenv(selftestPasswordEnv)
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return nil, fmt.Errorf("-password-file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if password == "" {
		return nil, fmt.Errorf("no password for %q: -password-file or $%s", user, selftestPasswordEnv)
	}
	return &authn.Basic{Username: user, Password: password}, nil
}

func (st *selftest) run(ctx context.Context) (selftestResult, error) {
	var res selftestResult
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	tag, err := name.NewTag(st.host+"/"+st.repo+":selftest-"+hex.EncodeToString(suffix), st.opts...)
	if err != nil {
		return res, err
	}
	img, err := random.Image(st.layer, 1)
	if err != nil {
		return res, err
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(st.auth), remote.WithTransport(st.tr)}
	if err := remote.Write(tag, img, ropts...); err != nil {
		return res, fmt.Errorf("push %s: %w", tag, err)
	}
	pulled, err := remote.Image(tag, ropts...)
	if err != nil {
		return res, fmt.Errorf("pull %s: %w", tag, err)
	}
	if res.bytes, err = sameImage(img, pulled); err != nil {
		return res, fmt.Errorf("pull %s: %w", tag, err)
	}
	digest, _ := img.Digest()
	res.ref = tag.Context().Digest(digest.String()).String()
	res.deleted = "deleted it"
	if err := remote.Delete(tag.Context().Digest(digest.String()), ropts...); err != nil {
		// A registry may refuse deletes (immutability, a read-only role):
		// the round trip still passed.
		res.deleted = "could not delete it: " + err.Error()
	}
	return res, nil
}

// sameImage compares what was pulled with what was pushed: digests,
// manifest, config and every layer's bytes. It returns the bytes compared.
func sameImage(want, got v1.Image) (int64, error) {
	wd, _ := want.Digest()
	gd, err := got.Digest()
	if err != nil {
		return 0, err
	}
	if wd != gd {
		return 0, fmt.Errorf("digest %s, pushed %s", gd, wd)
	}
	var n int64
	pairs := []struct {
		what      string
		want, got func() ([]byte, error)
	}{
		{"manifest", want.RawManifest, got.RawManifest},
		{"config", want.RawConfigFile, got.RawConfigFile},
	}
	for _, p := range pairs {
		w, _ := p.want()
		g, err := p.got()
		if err != nil {
			return n, fmt.Errorf("%s: %w", p.what, err)
		}
		if !bytes.Equal(w, g) {
			return n, fmt.Errorf("%s differs from what was pushed", p.what)
		}
		n += int64(len(g))
	}
	wl, _ := want.Layers()
	gl, err := got.Layers()
	if err != nil {
		return n, err
	}
	if len(wl) != len(gl) {
		return n, fmt.Errorf("%d layers, pushed %d", len(gl), len(wl))
	}
	for i := range wl {
		w, _ := readLayer(wl[i])
		g, err := readLayer(gl[i])
		if err != nil {
			return n, fmt.Errorf("layer %d: %w", i, err)
		}
		if !bytes.Equal(w, g) {
			return n, fmt.Errorf("layer %d differs from what was pushed", i)
		}
		n += int64(len(g))
	}
	return n, nil
}

func readLayer(l v1.Layer) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 1<<20))
}
