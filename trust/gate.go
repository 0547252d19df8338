package trust

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/registry"
)

// Policies gives the gate what applies to a project. *Store implements it.
type Policies interface {
	Effective(ctx context.Context, project string) (Effective, error)
}

// Gate is a registry.PullGate that lets a manifest be pulled only when
// its project's policy is satisfied, and a registry.EventSink that drops
// cached decisions when signatures change. Signatures themselves (and
// anything with a subject) always pass, so clients can verify them.
type Gate struct {
	src      Source
	policies Policies
	opts     VerifyOptions
	log      *slog.Logger
	now      func() time.Time
	ttl      time.Duration
	maxCache int
	exempt   func(ctx context.Context, t registry.Target) bool

	mu       sync.RWMutex
	seq      uint64 // bumped by every invalidation
	cache    map[cacheKey]decisionEntry
	flights  map[cacheKey]*flight
	children map[cacheKey][]cacheKey // an allowed index → its manifests, allowed with it
}

type cacheKey struct {
	repo   string
	digest digest.Digest
}

type decisionEntry struct {
	version  uint64
	decision Decision
	sigs     []Signature
	at       time.Time
}

// GateOption configures a Gate.
type GateOption func(*Gate)

// WithRevocation checks Notation certificate chains for revocation with
// v (which may reach the network); the default skips revocation checks.
func WithRevocation(v VerifyOptions) GateOption { return func(g *Gate) { g.opts = v } }

// WithGateLogger sets where verification problems are logged.
func WithGateLogger(l *slog.Logger) GateOption { return func(g *Gate) { g.log = l } }

// WithDecisionTTL bounds how long a decision is reused (default 10
// minutes; events and policy changes invalidate it sooner). Only events of
// this process invalidate, so several nodes need a short TTL.
func WithDecisionTTL(d time.Duration) GateOption { return func(g *Gate) { g.ttl = d } }

// WithExemption lets a pull the policy refuses through when exempt says
// so. It is asked only for refused pulls. The reference server exempts
// callers who may push the repository: signing clients (cosign sign,
// notation sign) read the manifest they sign, and a pusher could push
// those bytes anyway; content trust protects those who only pull.
func WithExemption(exempt func(ctx context.Context, t registry.Target) bool) GateOption {
	return func(g *Gate) { g.exempt = exempt }
}

// WithGateClock sets the gate's clock.
func WithGateClock(now func() time.Time) GateOption { return func(g *Gate) { g.now = now } }

// NewGate returns a gate reading signatures from src and policies from p.
func NewGate(src Source, p Policies, opts ...GateOption) *Gate {
	g := &Gate{src: src, policies: p, log: slog.Default(), now: time.Now, ttl: 10 * time.Minute,
		maxCache: 100_000, cache: map[cacheKey]decisionEntry{}, flights: map[cacheKey]*flight{},
		children: map[cacheKey][]cacheKey{}}
	for _, o := range opts {
		o(g)
	}
	return g
}

// CheckPull implements registry.PullGate.
func (g *Gate) CheckPull(ctx context.Context, t registry.Target) error {
	if (t.Subject != "" || accessoryTag(t.Reference)) && IsAccessory(t.Subject, t.Reference, t.Manifest) {
		return nil
	}
	eff, err := g.policies.Effective(ctx, ProjectOf(t.Repository))
	if err != nil {
		return fmt.Errorf("trust: policy of %s: %w", t.Repository, err)
	}
	if eff.Policy.Mode == ModeOff || eff.Policy.Mode == "" {
		return nil
	}
	d, _, err := g.check(ctx, Subject{Repository: t.Repository, Digest: t.Digest, MediaType: t.MediaType, Size: t.Size}, eff)
	if err != nil {
		g.log.WarnContext(ctx, "content trust: verification failed", "repository", t.Repository, "digest", t.Digest, "err", err)
		return err
	}
	if d.Allowed {
		if isIndex(t.MediaType) {
			g.allowChildren(t, eff, d)
		}
		return nil
	}
	if IsAccessory(t.Subject, t.Reference, t.Manifest) {
		return nil
	}
	if g.exempt != nil && g.exempt(ctx, t) {
		// Info, not Debug: an admin trying the policy with an account that
		// may push sees the pull pass and must be told why.
		g.log.InfoContext(ctx, "content trust: pull allowed although the policy refuses it, because the caller is exempt (it may push the repository; set content_trust.gate_pushers to gate pushers too)",
			"repository", t.Repository, "digest", t.Digest, "actor", registry.ActorFrom(ctx), "refusal", d.Reason)
		return nil
	}
	g.log.InfoContext(ctx, "content trust: pull refused", "repository", t.Repository, "digest", t.Digest,
		"actor", registry.ActorFrom(ctx), "reason", d.Reason)
	return registry.Denied(d.Reason)
}

// Check decides whether subj may be pulled under its project's policy and
// returns the signatures found, verified. The policy is evaluated even
// when it is off, so the API can show the signatures.
func (g *Gate) Check(ctx context.Context, subj Subject) (Decision, []Signature, error) {
	eff, err := g.policies.Effective(ctx, ProjectOf(subj.Repository))
	if err != nil {
		return Decision{}, nil, fmt.Errorf("trust: policy of %s: %w", subj.Repository, err)
	}
	return g.check(ctx, subj, eff)
}

func (g *Gate) check(ctx context.Context, subj Subject, eff Effective) (Decision, []Signature, error) {
	key := cacheKey{subj.Repository, subj.Digest}
	g.mu.RLock()
	e, ok := g.cache[key]
	g.mu.RUnlock()
	if ok && e.version == eff.Version && g.now().Sub(e.at) < g.ttl {
		return e.decision, e.sigs, nil
	}
	// One verification per artifact at a time: concurrent pulls of the
	// same digest (a deployment's nodes) wait for it, unless an event or
	// a policy change came since it started.
	g.mu.Lock()
	if f, ok := g.flights[key]; ok && f.version == eff.Version && f.seq == g.seq {
		g.mu.Unlock()
		select {
		case <-f.done:
			return f.d, f.sigs, f.err
		case <-ctx.Done():
			return Decision{}, nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{}), version: eff.Version, seq: g.seq}
	g.flights[key] = f
	g.mu.Unlock()

	// Detached from the caller, whose cancellation must not fail the
	// pulls waiting on this verification; bounded by verifyTimeout.
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), verifyTimeout)
	f.d, f.sigs, f.err = g.verify(vctx, subj, eff)
	cancel()

	g.mu.Lock()
	if g.flights[key] == f {
		delete(g.flights, key)
	}
	if f.err == nil && f.seq == g.seq {
		if len(g.cache) >= g.maxCache {
			clear(g.cache)
			clear(g.children)
		}
		g.cache[key] = decisionEntry{version: eff.Version, decision: f.d, sigs: f.sigs, at: g.now()}
	}
	g.mu.Unlock()
	close(f.done)
	return f.d, f.sigs, f.err
}

// verifyTimeout bounds one artifact's discovery and verification.
const verifyTimeout = 30 * time.Second

// flight is a verification in progress.
type flight struct {
	done         chan struct{}
	version, seq uint64
	d            Decision
	sigs         []Signature
	err          error
}

func (g *Gate) verify(ctx context.Context, subj Subject, eff Effective) (Decision, []Signature, error) {
	found, err := Discover(ctx, g.src, subj.Repository, subj.Digest)
	if err != nil {
		return Decision{}, nil, fmt.Errorf("trust: signatures of %s@%s: %w", subj.Repository, subj.Digest, err)
	}
	sigs := Verify(ctx, subj, found, eff.Keys, g.opts)
	if err := ctx.Err(); err != nil {
		return Decision{}, nil, err
	}
	return Evaluate(Artifact{Repository: subj.Repository, Digest: subj.Digest}, sigs, eff.Policy), sigs, nil
}

// Emit implements registry.EventSink: a push or delete of a manifest with
// a subject, or of cosign's signature tag, drops the subject's decision;
// a deleted manifest drops its own.
func (g *Gate) Emit(_ context.Context, e registry.Event) {
	if e.Action != registry.EventPush && e.Action != registry.EventDelete {
		return
	}
	var targets []digest.Digest
	if e.Subject != "" {
		targets = append(targets, e.Subject)
	}
	if d, ok := signedByTag(e.Tag); ok {
		targets = append(targets, d)
	}
	if e.Action == registry.EventDelete && e.Target == registry.TargetManifest {
		if e.Subject == "" {
			// A signature deleted without its subject known (a whole
			// repository deleted, for one): drop the repository's
			// decisions.
			g.invalidateRepo(e.Repository)
			return
		}
		targets = append(targets, e.Digest)
	}
	if len(targets) == 0 {
		return
	}
	g.mu.Lock()
	g.seq++
	for _, d := range targets {
		g.drop(cacheKey{e.Repository, d})
	}
	g.mu.Unlock()
}

// drop removes a decision and those of the manifests allowed with it.
// The caller holds g.mu.
func (g *Gate) drop(k cacheKey) {
	delete(g.cache, k)
	for _, c := range g.children[k] {
		delete(g.cache, c)
	}
	delete(g.children, k)
}

// maxIndexChildren bounds the manifests of one index allowed with it.
const maxIndexChildren = 1024

func isIndex(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// allowChildren lets the manifests of an allowed index (the images of a
// multi-platform image, which clients pull by digest after the index) be
// pulled with it: signing the index signs them, as cosign sign does by
// default. A child pulled before its index is judged on its own.
func (g *Gate) allowChildren(t registry.Target, eff Effective, d Decision) {
	parent := cacheKey{t.Repository, t.Digest}
	g.mu.RLock()
	e, ok := g.cache[parent]
	_, done := g.children[parent]
	g.mu.RUnlock()
	if done || !ok || e.version != eff.Version || !e.decision.Allowed {
		return
	}
	var idx ocispec.Index
	if json.Unmarshal(t.Manifest, &idx) != nil || len(idx.Manifests) == 0 {
		return
	}
	child := Decision{Allowed: true, Signers: d.Signers, Reason: "part of the index " + t.Digest.String() + ", " + d.Reason}
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur, ok := g.cache[parent]; !ok || cur.version != e.version || !cur.at.Equal(e.at) {
		return // invalidated meanwhile
	}
	var keys []cacheKey
	for i, m := range idx.Manifests {
		if i == maxIndexChildren {
			break
		}
		k := cacheKey{t.Repository, m.Digest}
		g.cache[k] = decisionEntry{version: e.version, decision: child, at: e.at}
		keys = append(keys, k)
	}
	g.children[parent] = keys
}

func (g *Gate) invalidateRepo(repo string) {
	g.mu.Lock()
	g.seq++
	for k := range g.cache {
		if k.repo == repo {
			g.drop(k)
		}
	}
	g.mu.Unlock()
}

// Invalidate drops every cached decision.
func (g *Gate) Invalidate() {
	g.mu.Lock()
	g.seq++
	clear(g.cache)
	clear(g.children)
	g.mu.Unlock()
}

// signedByTag reads cosign's sha256-<hex>.sig (or .att, .sbom) tag.
func signedByTag(tag string) (digest.Digest, bool) {
	if tag == "" {
		return "", false
	}
	for _, suffix := range []string{".sig", ".att", ".sbom"} {
		if rest, ok := strings.CutSuffix(tag, suffix); ok {
			alg, hex, ok := strings.Cut(rest, "-")
			if !ok {
				return "", false
			}
			d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
			if d.Validate() != nil {
				return "", false
			}
			return d, true
		}
	}
	return "", false
}

var _ registry.PullGate = (*Gate)(nil)
var _ registry.EventSink = (*Gate)(nil)
