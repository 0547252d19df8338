package replicate_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/distributiontest"
	"github.com/berthlabs/berth/replicate"
)

// distribution is a CNCF Distribution registry process and the Basic
// credentials it requires, if any.
type distribution struct {
	*distributiontest.Registry
	url, dir   string
	user, pass string
}

// startDistribution runs bin ("registry" v3, or Debian's 2.8
// "/usr/bin/docker-registry") over a temporary directory; with user set,
// it requires Basic credentials (htpasswd).
func startDistribution(t testing.TB, bin, user, pass string) *distribution {
	t.Helper()
	r := distributiontest.Start(t, distributiontest.Options{Binary: bin, Username: user, Password: pass})
	return &distribution{Registry: r, url: r.URL, dir: r.Dir, user: user, pass: pass}
}

// kill ends the process with SIGKILL; start runs it again on the same
// port and data.
func (d *distribution) kill()  { d.Stop() }
func (d *distribution) start() { d.Restart() }
func (d *distribution) stop()  { d.Stop() }

func (d *distribution) host() string { return d.Host }

func (d *distribution) keychain() authn.Authenticator {
	if d.user == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: d.user, Password: d.pass}
}

// catalogTags lists "repo:tag" at a registry, fallback tags left out.
func catalogTags(t testing.TB, host string, auth authn.Authenticator) []string {
	t.Helper()
	reg, err := name.NewRegistry(host, name.Insecure)
	require.NoError(t, err)
	repos, err := remoteCatalog(reg, auth)
	require.NoError(t, err)
	var out []string
	for _, r := range repos {
		for _, tag := range tagsAtAuth(t, host, r, auth) {
			out = append(out, r+":"+tag)
		}
	}
	sort.Strings(out)
	return out
}

// TestPeers replicates to (push) and from (pull) real CNCF Distribution
// registries: v3.1 with Basic auth, and Debian's 2.8 (no referrers API)
// as the legacy case. Filters must select exactly the expected
// repositories and tags; signatures and SBOMs travel with their subject;
// multi-platform indexes are copied whole.
func TestPeers(t *testing.T) {
	for _, pc := range []struct{ name, tool, user string }{
		{"distribution-v3.1", "registry", "repl"},
		{"distribution-2.8", "/usr/bin/docker-registry", ""},
	} {
		t.Run(pc.name, func(t *testing.T) {
			ctx := context.Background()
			pass := ""
			if pc.user != "" {
				pass = "repl-secret-1"
			}
			d := startDistribution(t, pc.tool, pc.user, pass)
			l := newLocal(t, "sqlite")
			if pc.user != "" {
				require.Error(t, l.svc.PingEndpoint(ctx, replicate.Endpoint{Name: "x", URL: d.url, Username: pc.user, Password: "wrong"}),
					"a wrong password fails the health check")
			}
			epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: pc.name, URL: d.url, Username: pc.user, Password: pass})
			require.NoError(t, err)
			require.NoError(t, l.svc.PingEndpoint(ctx, replicate.Endpoint{ID: epID}))

			// Push: app/** tags v*, but not v2, into mirror/ replacing "app".
			anon := authn.Anonymous
			web := push(t, l.host, "app/web:v1", randomImage(t, 3000, 5000))
			push(t, l.host, "app/web:v2", randomImage(t, 3000))
			push(t, l.host, "app/web:dev", randomImage(t, 3000))
			push(t, l.host, "app/api:v1", randomImage(t, 3000))
			push(t, l.host, "app/sub/deep:v1.0", randomImage(t, 3000))
			push(t, l.host, "tools/x:v1", randomImage(t, 3000))
			multi := pushIndex(t, l.host, "app/multi:v3", randomIndex(t))
			sig := attach(t, l.host, anon, "app/web", web, "application/vnd.dev.cosign.artifact.sig.v1+json", `{"sig":1}`)
			sbom := attach(t, l.host, anon, "app/web", web, "application/spdx+json", `{"spdxVersion":"SPDX-2.3"}`)
			pid, err := l.svc.CreatePolicy(ctx, replicate.Policy{Name: "push", Mode: replicate.Push, RemoteID: epID, Enabled: true,
				Trigger: replicate.TriggerManual, DestNamespace: "mirror", DestNamespaceReplace: 1,
				Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "app/**"}, {Type: replicate.FilterTag, Value: "v*"},
					{Type: replicate.FilterTag, Value: "v2", Decoration: replicate.Excludes}}})
			require.NoError(t, err)
			eid, err := l.svc.StartExecution(ctx, pid, replicate.TriggerManual)
			require.NoError(t, err)
			e := waitExec(t, l.svc, eid, time.Minute)
			require.Equal(t, replicate.StatusSucceed, e.Status, "%+v", e)
			require.Equal(t, []string{"mirror/api:v1", "mirror/multi:v3", "mirror/sub/deep:v1.0", "mirror/web:v1"},
				catalogTags(t, d.host(), d.keychain()))
			require.Equal(t, sorted(sig, sbom), referrersAt(t, d.host(), d.keychain(), "mirror/web", web))
			require.Equal(t, multi, digestAtAuth(t, d.host(), d.keychain(), "mirror/multi:v3"))
			sameImageAuth(t, l.host, anon, "app/web:v1", d.host(), d.keychain(), "mirror/web:v1")

			// Pull: upstream/{lib,multi}, all tags but 2.*, into the same names.
			lib := pushAuth(t, d.host(), d.keychain(), "upstream/lib:1.0", randomImage(t, 4000))
			pushAuth(t, d.host(), d.keychain(), "upstream/lib:2.0", randomImage(t, 4000))
			pushAuth(t, d.host(), d.keychain(), "upstream/other:1.0", randomImage(t, 4000))
			pushIndexAuth(t, d.host(), d.keychain(), "upstream/multi:1.1", randomIndex(t))
			libSig := attach(t, d.host(), d.keychain(), "upstream/lib", lib, "application/vnd.cncf.notary.signature", `{"n":1}`)
			pid, err = l.svc.CreatePolicy(ctx, replicate.Policy{Name: "pull", Mode: replicate.Pull, RemoteID: epID, Enabled: true,
				Trigger: replicate.TriggerManual,
				Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "upstream/{lib,multi}"},
					{Type: replicate.FilterTag, Value: "**"}, {Type: replicate.FilterTag, Value: "2.*", Decoration: replicate.Excludes}}})
			require.NoError(t, err)
			eid, err = l.svc.StartExecution(ctx, pid, replicate.TriggerManual)
			require.NoError(t, err)
			e = waitExec(t, l.svc, eid, time.Minute)
			require.Equal(t, replicate.StatusSucceed, e.Status, "%+v", e)
			var local []string
			for _, tg := range catalogTags(t, l.host, anon) {
				if !strings.HasPrefix(tg, "app/") && !strings.HasPrefix(tg, "tools/") {
					local = append(local, tg)
				}
			}
			require.Equal(t, []string{"upstream/lib:1.0", "upstream/multi:1.1"}, local)
			// The signature is visible through berth's referrers API.
			require.Equal(t, []string{libSig}, referrersAPI(t, l.host, "upstream/lib", lib))
			sameImageAuth(t, d.host(), d.keychain(), "upstream/lib:1.0", l.host, anon, "upstream/lib:1.0")
		})
	}
}
