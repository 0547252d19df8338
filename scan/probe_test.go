package scan_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/adapter"
)

// adapterSecret is what a hostile "adapter" answers; no error may carry it.
const adapterSecret = "INTERNAL-SERVICE-SECRET-0123456789"

// fakeRemote answers every request with status and adapterSecret, and
// records the Authorization headers it receives.
type fakeRemote struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newFakeRemote(t *testing.T, status int) *fakeRemote {
	f := &fakeRemote{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(adapterSecret))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRemote) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auths...)
}

func adapterService(t *testing.T) *scan.Service {
	t.Helper()
	ctx := context.Background()
	svc, err := scan.NewService(ctx, scan.OpenDB(t), scan.WithAdapters(adapter.NewClientFor, nil))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

// On SQLite only: what it tests is the errors' text, above SQL.
func TestScannerProbesNeverEchoTheRemote(t *testing.T) {
	ctx := context.Background()
	svc := adapterService(t)
	for _, tt := range []struct {
		status int
		reason string
	}{
		{http.StatusInternalServerError, "answered HTTP 500 Internal Server Error"},
		{http.StatusUnauthorized, "answered HTTP 401 Unauthorized"},
		{http.StatusOK, "no valid answer"}, // not metadata
	} {
		remote := newFakeRemote(t, tt.status)
		_, err := svc.PingScanner(ctx, scan.Registration{Name: "probe", URL: remote.URL})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), adapterSecret)
		var pe *scan.ProbeError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, tt.reason, pe.Reason)
		assert.Equal(t, remote.URL, pe.URL)
		if tt.status != http.StatusOK {
			assert.Equal(t, tt.status, pe.Status)
			assert.Contains(t, pe.Err.Error(), adapterSecret, "the cause, for the log, keeps it")
		}

		r, err := svc.AddScanner(ctx, scan.Registration{Name: "reg-" + http.StatusText(tt.status), URL: remote.URL})
		require.NoError(t, err)
		_, err = svc.ScannerMetadata(ctx, r.ID)
		require.ErrorAs(t, err, &pe)
		assert.NotContains(t, err.Error(), adapterSecret)
	}

	remote := newFakeRemote(t, http.StatusOK)
	remote.Close()
	_, err := svc.PingScanner(ctx, scan.Registration{Name: "probe", URL: remote.URL})
	var pe *scan.ProbeError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "connection refused", pe.Reason)
	assert.Zero(t, pe.Status)
}

// On SQLite only: updates are stored as TestScannerRegistrations tests on
// both engines.
func TestUpdateScannerMovingItsCredential(t *testing.T) {
	ctx := context.Background()
	svc := adapterService(t)
	home, elsewhere := newFakeRemote(t, http.StatusInternalServerError), newFakeRemote(t, http.StatusInternalServerError)
	r, err := svc.AddScanner(ctx, scan.Registration{Name: "ext", URL: home.URL, Auth: scan.AuthBearer, Credential: "stored-token"})
	require.NoError(t, err)

	// Same origin: the credential stays and is sent.
	r.URL, r.Description = home.URL+"/", "moved path only"
	_, err = svc.UpdateScanner(ctx, r.ID, r)
	require.NoError(t, err)
	_, _ = svc.ScannerMetadata(ctx, r.ID)
	assert.Equal(t, []string{"Bearer stored-token"}, home.received())

	// Another origin without the credential: refused, nothing changed.
	moved := r
	moved.URL, moved.Name = elsewhere.URL, "renamed"
	_, err = svc.UpdateScanner(ctx, r.ID, moved)
	require.ErrorIs(t, err, scan.ErrInvalid)
	assert.Contains(t, err.Error(), "give its access_credential again")
	cur, err := svc.Scanner(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, "ext", cur.Name)
	_, _ = svc.ScannerMetadata(ctx, r.ID)
	assert.Empty(t, elsewhere.received(), "nothing reached the new address")
	assert.Equal(t, []string{"Bearer stored-token", "Bearer stored-token"}, home.received(), "still at home")

	// Clearing it (auth none) moves it anonymous; a new one moves with it.
	moved.Auth = scan.AuthNone
	_, err = svc.UpdateScanner(ctx, r.ID, moved)
	require.NoError(t, err)
	_, _ = svc.ScannerMetadata(ctx, r.ID)
	assert.Equal(t, []string{""}, elsewhere.received())
	moved.URL, moved.Auth, moved.Credential = home.URL, scan.AuthBearer, "new-token"
	_, err = svc.UpdateScanner(ctx, r.ID, moved)
	require.NoError(t, err)
	_, _ = svc.ScannerMetadata(ctx, r.ID)
	assert.Equal(t, "Bearer new-token", home.received()[2])
}
