package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthlabs/berth/admission"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/storage/memory"
)

var hexDigest = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// A registry whose pull gate refuses quarantined repositories, and the
// webhook that refuses pods using them before they are created — and pins
// the images it allows to their digest.
func Example() {
	ctx := context.Background()
	gate := registry.PullGateFunc(func(ctx context.Context, t registry.Target) error {
		if strings.HasPrefix(t.Repository, "quarantine/") {
			return registry.Denied("quarantined until reviewed")
		}
		return nil
	})
	rg, err := registry.New(ctx, memory.New(), nil, registry.WithPullGate(gate))
	if err != nil {
		log.Fatal(err)
	}
	for _, repo := range []string{"team/app", "quarantine/app"} {
		img, _ := random.Image(64, 1)
		ref, _ := name.NewTag("berth.example.com/" + repo + ":v1")
		if err := remote.Write(ref, img, remote.WithTransport(rg.Transport("example"))); err != nil {
			log.Fatal(err)
		}
	}

	rv, err := admission.New(rg, gate, []string{"berth.example.com"},
		admission.WithRules(admission.Rules{Allow: []string{"docker.io/library/*"}, OtherDenied: true}),
		admission.WithPinning())
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /k8s/admission/mutate", rv.Mutate())

	review := func(images ...string) {
		var containers []string
		for i, img := range images {
			containers = append(containers, fmt.Sprintf(`{"name":"c%d","image":%q}`, i, img))
		}
		body := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1",` +
			`"kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE",` +
			`"object":{"apiVersion":"v1","kind":"Pod","spec":{"containers":[` + strings.Join(containers, ",") + `]}}}}`
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/k8s/admission/mutate", bytes.NewBufferString(body)))
		var out struct {
			Response struct {
				Allowed bool
				Status  struct{ Message string }
				Patch   []byte
			}
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		fmt.Println(strings.TrimSpace(fmt.Sprint("allowed: ", out.Response.Allowed, " ",
			hexDigest.ReplaceAllString(out.Response.Status.Message, "sha256:…"))))
		var patch []struct{ Path, Value string }
		_ = json.Unmarshal(out.Response.Patch, &patch)
		for _, p := range patch {
			fmt.Println(p.Path, strings.Contains(p.Value, ":v1@sha256:"))
		}
	}
	review("berth.example.com/team/app:v1", "nginx:1.27")
	review("berth.example.com/quarantine/app:v1", "quay.io/someone/miner")
	// Output:
	// allowed: true
	// /spec/containers/0/image true
	// allowed: false berth refused 2 image(s): image berth.example.com/quarantine/app:v1 (sha256:…): quarantined until reviewed; image quay.io/someone/miner: images of other registries are refused unless an allow rule names them
}
