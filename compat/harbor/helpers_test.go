package harbor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"strconv"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	rtclient "github.com/go-openapi/runtime/client"
	harbor "github.com/goharbor/go-client/pkg/sdk/v2.0/client"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/slapdtest"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

const (
	adminUser     = "admin"
	adminPassword = "admin-password-1"
)

// The one server every test talks to; each test works in projects of its
// own, so tests may run in parallel.
var (
	registryHost string // host:port of the server, for pushes
	serverURL    string // http://host:port, for raw requests
	apiClient    *harbor.HarborAPI
	ldapOn       bool            // the server logs users in against a test directory
	scans        = newScanGate() // holds the server's scans of chosen repositories
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open database:", err)
		return 1
	}
	defer db.Close()
	hs := httptest.NewUnstartedServer(nil)
	registryHost = hs.Listener.Addr().String()
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", adminPassword, "http://"+registryHost
	// Every feature that runs in-process is on, so that TestSDKCoverage
	// reaches all the operations berth can serve: scanning with a static
	// scanner standing in for Trivy, content trust, chart repositories,
	// and GC, quotas, retention, immutability, webhooks and replication
	// (on by default).
	cfg.Webhooks.RetryBackoff = time.Second
	tmp, err := os.MkdirTemp("", "berth-compat-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	ldapConfig, stopLDAP, err := startLDAP(tmp)
	defer stopLDAP()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if ldapOn = ldapConfig != ""; ldapOn {
		cfg.LDAP.ConfigFile, cfg.LDAP.BindPassword = ldapConfig, slapdtest.SearchPassword
	}
	stopOIDC, err := startOIDC(ctx, tmp)
	defer stopOIDC()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the OIDC-mode server:", err)
		return 1
	}
	scanner := &scan.Static{Vulnerabilities: []scan.Vulnerability{
		{ID: "CVE-2024-1111", Package: "openssl", Version: "3.0.11", FixVersion: "3.0.12", Severity: scan.High}},
		Check: scans.check}
	srv, err := server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		server.WithBuiltinScanner(func(context.Context, *server.Assembly) (string, scan.Scanner, scan.SBOMGenerator, error) {
			return "static", scanner, nil, nil
		}))
	if err != nil {
		fmt.Fprintln(os.Stderr, "start berth:", err)
		return 1
	}
	defer srv.Close(context.Background())
	hs.Config.Handler = srv.Handler()
	hs.Start()
	defer hs.Close()
	serverURL = hs.URL

	u, err := url.Parse(hs.URL + harbor.DefaultBasePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	apiClient = harbor.New(harbor.Config{URL: u, AuthInfo: rtclient.BasicAuth(adminUser, adminPassword)})
	return m.Run()
}

// newProject creates a private project through go-client and returns its
// id, read from the creation's Location.
func newProject(t *testing.T, name string) int64 {
	t.Helper()
	public := false
	created, err := apiClient.Project.CreateProject(t.Context(), project.NewCreateProjectParams().
		WithProject(&models.ProjectReq{ProjectName: name, Public: &public}))
	require.NoError(t, err)
	require.NotEmpty(t, created.Location)
	got, err := apiClient.Project.GetProject(t.Context(), project.NewGetProjectParams().WithProjectNameOrID(name))
	require.NoError(t, err)
	require.Equal(t, name, got.Payload.Name)
	return int64(got.Payload.ProjectID)
}

// push writes a random image to project/repo:tag as the admin and
// returns it.
func push(t *testing.T, project, repo, tag string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	ref, err := name.NewTag(registryHost+"/"+project+"/"+repo+":"+tag, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remoteAuth()))
	return img
}

func remoteAuth() remote.Option {
	return remote.WithAuth(&authn.Basic{Username: adminUser, Password: adminPassword})
}

func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}

// idFromLocation reads the id ending a Location header.
func idFromLocation(t *testing.T, loc string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(path.Base(loc), 10, 64)
	require.NoError(t, err, "Location %q does not end with an id", loc)
	return id
}

func ptr[T any](v T) *T { return &v }

// eventually polls f until it returns true, for at most d.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// knownGap skips the (sub)test: go-client expects something berth does not
// do yet. Such a test turns into a real check once berth does it.
func knownGap(t *testing.T, what string) {
	t.Helper()
	t.Skip("berth incompatibility: " + what)
}

// hasStatus tells whether err is go-client's answer to an HTTP status
// code: a typed response of the operation, or go-openapi's APIError for a
// status the operation does not declare.
func hasStatus(err error, code int) bool {
	var typed interface{ IsCode(int) bool }
	if errors.As(err, &typed) {
		return typed.IsCode(code)
	}
	var apiErr *runtime.APIError
	return errors.As(err, &apiErr) && apiErr.Code == code
}
