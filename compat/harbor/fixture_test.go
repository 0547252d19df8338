package harbor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	rtclient "github.com/go-openapi/runtime/client"
	harbor "github.com/goharbor/go-client/pkg/sdk/v2.0/client"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// callTimeout bounds one operation's call, its set-up included.
const callTimeout = 30 * time.Second

// fixture holds what TestSDKCoverage's calls need (a project, an image,
// a user, a robot...), each made once through go-client on first use and
// kept with its ids as the server returned them. A failed set-up is kept
// too: every call that needs it reports it.
type fixture struct {
	t        testing.TB
	c        *harbor.HarborAPI
	memo     map[string]memoized
	n        int
	receiver *httptest.Server // webhook target
	adapter  *httptest.Server // a Harbor scanner adapter answering its metadata
	statuses *statusRecorder  // the status of c's last answer
}

// statusRecorder keeps the status of the last answer it carried, to tell
// an answer go-client could not decode from a 2xx or not.
type statusRecorder struct {
	next http.RoundTripper
	last int
}

func (s *statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil {
		s.last = resp.StatusCode
	}
	return resp, err
}

type memoized struct {
	v   any
	err error
}

func newFixture(t testing.TB) *fixture {
	u, err := url.Parse(serverURL + harbor.DefaultBasePath)
	if err != nil {
		t.Fatal(err)
	}
	rec := &statusRecorder{next: http.DefaultTransport}
	f := &fixture{t: t, memo: map[string]memoized{}, statuses: rec,
		c: harbor.New(harbor.Config{URL: u, Transport: rec, AuthInfo: rtclient.BasicAuth(adminUser, adminPassword)})}
	// The receiver takes webhook posts.
	f.receiver = httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.adapter = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/api/v1/metadata") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.scanner.adapter.metadata+json; version=1.0")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"scanner": map[string]string{"name": "fake", "vendor": "berth tests", "version": "1"},
			"capabilities": []any{map[string]any{
				"consumes_mime_types": []string{"application/vnd.oci.image.manifest.v1+json",
					"application/vnd.docker.distribution.manifest.v2+json"},
				"produces_mime_types": []string{"application/vnd.security.vulnerability.report; version=1.1"}}},
			"properties": map[string]string{},
		})
	}))
	return f
}

func (f *fixture) close() {
	f.receiver.Close()
	f.adapter.Close()
}

// unique returns a fresh name starting with prefix.
func (f *fixture) unique(prefix string) string {
	f.n++
	return fmt.Sprintf("%s-%d", prefix, f.n)
}

// once makes what key names with mk the first time and returns it (or
// its set-up error) every time.
func once[T any](ctx context.Context, f *fixture, key string, mk func(context.Context) (T, error)) (T, error) {
	if m, ok := f.memo[key]; ok {
		v, _ := m.v.(T)
		return v, m.err
	}
	v, err := mk(ctx)
	err = setup(key, err)
	f.memo[key] = memoized{v, err}
	return v, err
}

// setup marks an error of a call made to prepare another.
func setup(what string, err error) error {
	if err == nil {
		return nil
	}
	var s setupError
	if errors.As(err, &s) {
		return setupError{fmt.Errorf("%s: %w", what, s.err)}
	}
	return setupError{fmt.Errorf("%s: %s", what, payloadText(err))}
}

// idFrom reads the numeric id ending a Location header.
func idFrom(loc string) (int64, error) {
	i := strings.LastIndex(loc, "/")
	id, err := strconv.ParseInt(loc[i+1:], 10, 64)
	if err != nil || id <= 0 {
		return 0, checkf("Location %q does not end with a numeric id", loc)
	}
	return id, nil
}

// proj is a project as the calls address it.
type proj struct {
	name string
	id   int64
}

func (p proj) ref() string { return strconv.FormatInt(p.id, 10) }

// createProject makes a private project and reads its id back.
func (f *fixture) createProject(ctx context.Context, name string) (proj, error) {
	_, err := f.c.Project.CreateProject(ctx, project.NewCreateProjectParams().
		WithProject(&models.ProjectReq{ProjectName: name, Public: ptr(false)}))
	if err != nil {
		return proj{}, setup("createProject", err)
	}
	got, err := f.c.Project.GetProject(ctx, project.NewGetProjectParams().WithProjectNameOrID(name))
	if err != nil {
		return proj{}, setup("getProject", err)
	}
	if got.Payload.ProjectID <= 0 {
		return proj{}, setupError{fmt.Errorf("project %s has no project_id", name)}
	}
	return proj{name, int64(got.Payload.ProjectID)}, nil
}

// project is the project most calls work in; it holds app:v1 (image()).
func (f *fixture) project(ctx context.Context) (proj, error) {
	return once(ctx, f, "project", func(ctx context.Context) (proj, error) {
		return f.createProject(ctx, "sdk-coverage")
	})
}

// pushImage pushes a small random image as project/repo:tag and returns
// its digest.
func (f *fixture) pushImage(ctx context.Context, project, repo, tag string) (string, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return "", err
	}
	ref, err := name.NewTag(registryHost+"/"+project+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remoteAuth(), remote.WithContext(ctx)); err != nil {
		return "", setupError{fmt.Errorf("push %s: %w", ref, err)}
	}
	d, err := img.Digest()
	return d.String(), err
}

// image is project()'s app:v1, pushed once; it returns the digest.
func (f *fixture) image(ctx context.Context) (proj, string, error) {
	p, err := f.project(ctx)
	if err != nil {
		return p, "", err
	}
	d, err := once(ctx, f, "image", func(ctx context.Context) (string, error) {
		return f.pushImage(ctx, p.name, "app", "v1")
	})
	return p, d, err
}

// poll calls check every 100ms until it reports done or ctx ends.
func poll(ctx context.Context, what string, check func() (bool, error)) error {
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
