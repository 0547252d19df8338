package server

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/berthlabs/berth/admission"
)

// wireAdmission serves the Kubernetes admission webhook: reviews of pods
// and workload templates decided by the server's own pull gates (every
// feature's: content trust, the vulnerability gate, an embedder's), for
// images named by ExternalURL's host or one of Admission.Registries, and
// by the allow and deny rules for other registries' images.
//
// The API server calls webhooks with no credentials, so the endpoints
// need no login; they answer only the decision (the digest judged, a
// refusal's reason — see package admission on keeping /k8s/ private to
// the API server). It calls them over HTTPS
// only: serve berth with TLS (Config.TLS) or behind a TLS-terminating
// Service. /k8s/admission/mutate is mounted whether Mutate is on or not,
// deciding like /validate; Mutate adds the patch pinning tags to digests,
// so a mutating webhook configuration can stay in place while the
// setting changes. With Admission.Addr both are served on that listener
// only (Serve opens it), never on the main one.
func wireAdmission(a *Assembly) error {
	cfg := a.cfg.Admission
	hosts, err := admissionHosts(a.cfg.ExternalURL, cfg.Registries)
	if err != nil {
		return err
	}
	rules := admission.Rules{Allow: cfg.Allow, Deny: cfg.Deny}
	switch cfg.OtherRegistries {
	case "", "allow":
	case "deny":
		rules.OtherDenied = true
	default:
		return fmt.Errorf("admission.other_registries: %q: want allow or deny", cfg.OtherRegistries)
	}
	opts := []admission.Option{admission.WithRules(rules), admission.WithCacheTTL(cfg.CacheTTL),
		admission.WithLogger(a.log.With("component", "admission"))}
	if cfg.Mutate {
		opts = append(opts, admission.WithPinning())
	}
	rv, err := admission.New(a.st.reg, a.gates, hosts, opts...)
	if err != nil {
		return err
	}
	if cfg.Addr == "" {
		a.Handle("POST /k8s/admission/validate", rv.Validate())
		a.Handle("POST /k8s/admission/mutate", rv.Mutate())
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("POST /k8s/admission/validate", rv.Validate())
	mux.Handle("POST /k8s/admission/mutate", rv.Mutate())
	a.admission = mux
	return nil
}

// admissionHosts are the names images of this server are written with:
// external's host (also without its port when that is the scheme's
// default) and the configured others.
func admissionHosts(external string, others []string) ([]string, error) {
	u, err := url.Parse(external)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("admission: external_url %q names no host", external)
	}
	hosts := append([]string{u.Host}, others...)
	if host, port, err := net.SplitHostPort(u.Host); err == nil &&
		(port == "443" && u.Scheme == "https" || port == "80" && u.Scheme == "http") {
		hosts = append(hosts, host)
	}
	for i, h := range hosts {
		hosts[i] = strings.ToLower(h)
	}
	return hosts, nil
}
