package s3test_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/s3test"
)

// TestStartRestartStop stores an object in the bucket Start made, finds it
// again after a restart on the same port with the same credentials, and
// sees the port refuse connections once stopped.
func TestStartRestartStop(t *testing.T) {
	srv := s3test.Start(t)
	_, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: &srv.Bucket, Key: aws.String("a/b"), Body: strings.NewReader("kept"),
	})
	require.NoError(t, err)

	srv.Restart()
	out, err := srv.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: &srv.Bucket, Key: aws.String("a/b")})
	require.NoError(t, err)
	b, err := io.ReadAll(out.Body)
	out.Body.Close()
	require.NoError(t, err)
	require.Equal(t, "kept", string(b), "the data survives a restart")

	anonymous, err := http.Get(srv.URL + "/" + srv.Bucket + "/a/b")
	require.NoError(t, err)
	anonymous.Body.Close()
	require.Equal(t, http.StatusForbidden, anonymous.StatusCode, "requests without the credentials are refused")

	srv.Stop()
	_, err = (&http.Client{Timeout: 2 * time.Second}).Get(srv.URL)
	require.Error(t, err, "a stopped server refuses connections")
}
