package s3_test

import (
	"crypto/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/s3test"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/s3"
	"github.com/berthlabs/berth/storage/storagetest"
)

// open returns a driver over srv's bucket under prefix.
func open(t *testing.T, srv *s3test.Server, prefix string, opts ...s3.Option) *s3.Driver {
	t.Helper()
	d, err := s3.New(t.Context(), srv.Bucket, append([]s3.Option{
		s3.WithEndpoint(srv.URL),
		s3.WithRegion(srv.Region),
		s3.WithCredentials(srv.AccessKey, srv.SecretKey),
		s3.WithPathStyle(),
		s3.WithPrefix(prefix),
	}, opts...)...)
	require.NoError(t, err)
	return d
}

// Every subtest gets its own prefix in one bucket: the suite's empty
// listings also check that a prefix keeps stores apart.
func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	storagetest.Run(t, func(t *testing.T) storage.Driver { return open(t, srv, "t/"+rand.Text()) })
}

// Each restart case has its own server, killed (SIGKILL) and started again
// on the same data between the two drivers: a restart of berth and of the
// store at once.
func TestRestart(t *testing.T) {
	var mu sync.Mutex
	servers := map[string]*s3test.Server{}
	storagetest.RunRestart(t, func(t *testing.T, dir string) storage.Driver {
		mu.Lock()
		srv, restart := servers[dir]
		if !restart {
			srv = s3test.Start(t)
			servers[dir] = srv
		}
		mu.Unlock()
		if restart {
			srv.Restart()
		}
		return open(t, srv, "")
	})
}
