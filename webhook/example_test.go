package webhook_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/berthlabs/berth/webhook"
)

// A receiver checks a delivery's signature over the raw body, with the
// policy's secret, before it trusts anything in it.
func ExampleVerify() {
	secret := []byte("the policy's secret, shown once")
	body := []byte(`{"type":"PUSH_ARTIFACT","occur_at":1700000000,"operator":"alice"}`)
	header := webhook.Sign(secret, body) // what berth sends as X-Berth-Signature-256

	fmt.Println(header[:7])
	fmt.Println(webhook.Verify(secret, body, header))
	fmt.Println(webhook.Verify(secret, []byte(`{"type":"DELETE_ARTIFACT"}`), header))
	fmt.Println(webhook.Verify([]byte("a guessed secret value"), body, header))
	// Output:
	// sha256=
	// true
	// false
	// false
}

// The Default payload of a push, Harbor's shape.
func ExampleNewPayload() {
	p := webhook.NewPayload(webhook.Event{
		Type:        webhook.PushArtifact,
		ProjectID:   7,
		ProjectName: "library",
		Repository:  "library/alpine",
		Digest:      "sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1",
		Tags:        []string{"3.20"},
		Operator:    "alice",
		OccurAt:     time.Unix(1700000000, 0),
	}, "reg.example")
	out, _ := json.MarshalIndent(p, "", "  ")
	fmt.Println(string(out))
	// Output:
	// {
	//   "type": "PUSH_ARTIFACT",
	//   "occur_at": 1700000000,
	//   "operator": "alice",
	//   "event_data": {
	//     "resources": [
	//       {
	//         "digest": "sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1",
	//         "tag": "3.20",
	//         "resource_url": "reg.example/library/alpine:3.20"
	//       }
	//     ],
	//     "repository": {
	//       "name": "alpine",
	//       "namespace": "library",
	//       "repo_full_name": "library/alpine",
	//       "repo_type": "private"
	//     }
	//   }
	// }
}
