package distributiontest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/distributiontest"
)

// TestStartAuthRestartAccessLog pushes with Basic credentials, sees
// anonymous callers refused, stops the process (the port refuses), starts
// it again on the same port and finds the image, and reads the pushes and
// pulls back from the access log.
func TestStartAuthRestartAccessLog(t *testing.T) {
	reg := distributiontest.Start(t, distributiontest.Options{Username: "alice", Password: "s3cret", AccessLog: true})
	creds := remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})

	img, err := random.Image(1024, 2)
	require.NoError(t, err)
	ref, err := name.ParseReference(reg.Host + "/team/app:v1")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, creds))
	want, err := img.Digest()
	require.NoError(t, err)

	resp, err := http.Get(reg.URL + "/v2/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "anonymous callers are refused")

	reg.Stop()
	_, err = (&http.Client{Timeout: 2 * time.Second}).Get(reg.URL + "/v2/")
	require.Error(t, err, "a stopped registry refuses connections")

	reg.Restart()
	desc, err := remote.Head(ref, creds)
	require.NoError(t, err)
	require.Equal(t, want, desc.Digest, "the data survives a restart on the same port")

	manifestPut := func(r distributiontest.Request) bool {
		return r.Method == http.MethodPut && r.Path == "/v2/team/app/manifests/v1" && r.Status == http.StatusCreated
	}
	manifestHead := func(r distributiontest.Request) bool {
		return r.Method == http.MethodHead && r.Path == "/v2/team/app/manifests/v1" && r.Status == http.StatusOK
	}
	require.Eventually(t, func() bool { return reg.Count(manifestHead) == 1 }, 5*time.Second, 20*time.Millisecond,
		"the access log records the HEAD after the restart: %+v", reg.Requests())
	require.Equal(t, 1, reg.Count(manifestPut), "and the push before it: %+v", reg.Requests())
}

// TestAnonymousWithoutAccessLog: the zero Options serve anonymous pulls
// and record nothing.
func TestAnonymousWithoutAccessLog(t *testing.T) {
	reg := distributiontest.Start(t, distributiontest.Options{})
	resp, err := http.Get(reg.URL + "/v2/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, reg.Requests())
}
