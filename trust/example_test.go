package trust_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/storage/memory"
	"github.com/berthlabs/berth/trust"
)

// The policy alone: generated keys, a cosign-style signature made and
// verified in memory, no registry, no server.
func ExampleEvaluate() {
	release, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(release.Public())
	entry, err := trust.ParseEntry("release", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		log.Fatal(err)
	}
	keys := trust.KeySet{Entries: []*trust.Entry{entry}}

	art := trust.Subject{Repository: "library/app", Digest: digest.FromString("an image manifest")}
	signed := func(k *ecdsa.PrivateKey) trust.Found {
		payload := trust.CosignPayload("registry.example.com/library/app", art.Digest)
		sig, err := trust.SignCosignPayload(k, payload)
		if err != nil {
			log.Fatal(err)
		}
		return trust.Found{Format: trust.FormatCosign, Form: "tag", Payload: payload, Sig: sig}
	}
	ctx := context.Background()
	policy := trust.Policy{Mode: trust.ModeSigners, Signers: []string{"release"}, Format: trust.FormatCosign}
	who := trust.Artifact{Repository: art.Repository, Digest: art.Digest}

	for _, found := range [][]trust.Found{nil, {signed(stranger)}, {signed(release)}} {
		sigs := trust.Verify(ctx, art, found, keys, trust.VerifyOptions{})
		d := trust.Evaluate(who, sigs, policy)
		var names []string
		for _, s := range d.Signers {
			names = append(names, s.Name)
		}
		fmt.Println(d.Allowed, len(sigs), names)
	}
	fmt.Println(trust.Evaluate(who, nil, trust.Policy{Mode: trust.ModeOff}).Reason)
	// Output:
	// false 0 []
	// false 1 []
	// true 1 [release]
	// content trust is off
}

// The gate in front of an embedded registry: a manifest pull needs a
// signature by a key of the trust store; signing it lets it through at
// once.
func ExampleGate() {
	ctx := context.Background()
	store, err := trust.NewStore(ctx, nil) // nil: in-memory SQLite
	if err != nil {
		log.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	if _, err := store.AddEntry(ctx, "", "release", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil {
		log.Fatal(err)
	}
	if err := store.SetPolicy(ctx, "library", trust.Policy{Mode: trust.ModeAny}); err != nil {
		log.Fatal(err)
	}

	// The gate reads signatures through the registry's in-process
	// transport; it is built after the registry, so hand it over late.
	var gate *trust.Gate
	hooks := struct {
		registry.PullGate
		registry.EventSink
	}{gateFunc(func(ctx context.Context, t registry.Target) error { return gate.CheckPull(ctx, t) }),
		registry.EventSinkFunc(func(ctx context.Context, e registry.Event) { gate.Emit(ctx, e) })}
	reg, err := registry.New(ctx, memory.New(), nil, registry.WithPullGate(hooks), registry.WithEventSink(hooks))
	if err != nil {
		log.Fatal(err)
	}
	client := trust.Registry(reg.Transport("trust"), "http://berth.internal")
	gate = trust.NewGate(client, store)
	srv := httptest.NewServer(reg)
	defer srv.Close()

	// Push an image (an empty config and no layers will do).
	cfg := []byte("{}")
	cd, _ := client.PushBlob(ctx, "library/app", cfg)
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specsV2, MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cd, Size: 2}, Layers: []ocispec.Descriptor{}})
	d, err := client.PushManifest(ctx, "library/app", "v1", ocispec.MediaTypeImageManifest, m)
	if err != nil {
		log.Fatal(err)
	}
	pull := func() {
		resp, err := http.Get(srv.URL + "/v2/library/app/manifests/v1")
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	pull()
	subj := trust.Subject{Repository: "library/app", Digest: d, MediaType: ocispec.MediaTypeImageManifest, Size: int64(len(m))}
	if _, err := trust.SignCosign(ctx, client, subj, key, trust.CosignOptions{}); err != nil {
		log.Fatal(err)
	}
	pull()
	// Output:
	// 412 Precondition Failed
	// 200 OK
}

type gateFunc func(ctx context.Context, t registry.Target) error

func (f gateFunc) CheckPull(ctx context.Context, t registry.Target) error { return f(ctx, t) }

var specsV2 = specs.Versioned{SchemaVersion: 2}
