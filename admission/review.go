package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// patchOp is one operation of an RFC 6902 JSON Patch.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// Review decides one admission request: refused when any image it adds
// is refused, with every refused image and its reason in the message.
// With pin (the mutating path of a Reviewer made WithPinning), an allowed
// response carries a JSON Patch pinning this registry's images named by
// tag to the digest judged. Deletions, CONNECT and kinds holding no pod
// template are allowed unjudged; dry runs are judged as real ones. An
// error means the request itself is malformed.
func (rv *Reviewer) Review(ctx context.Context, req *Request, pin bool) (*Response, error) {
	resp := &Response{UID: req.UID, Allowed: true}
	if req.Operation == Delete || req.Operation == Connect {
		resp.Result = &Status{Message: fmt.Sprintf("berth does not review %s operations", req.Operation)}
		return resp, nil
	}
	spec, pointer, ok, err := podSpecOf(req.Kind, req.Object)
	if err != nil {
		return nil, err
	}
	if !ok || spec == nil {
		resp.Result = &Status{Message: fmt.Sprintf("berth does not review %s: it holds no pod template", kindString(req.Kind))}
		return resp, nil
	}
	images := imagesOf(spec, pointer)
	if n := distinct(images); n > maxImages {
		return nil, fmt.Errorf("%d distinct images in one object: at most %d are reviewed", n, maxImages)
	}
	unchanged := rv.oldImages(req)
	var refused []string
	var patch []patchOp
	judged := map[string]verdict{}
	for _, img := range images {
		if unchanged[img.Image] {
			continue // an update judges what it adds, not what already runs
		}
		v, seen := judged[img.Image]
		if !seen {
			v = rv.judge(ctx, img.Image)
			judged[img.Image] = v
			if v.Reason != "" {
				refused = append(refused, describe(img.Image, v))
				rv.log.InfoContext(ctx, "admission: image refused", "image", img.Image, "digest", v.Digest,
					"kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "reason", v.Reason)
			}
		}
		if v.Pinned != "" && pin && rv.pin {
			patch = append(patch, patchOp{Op: "replace", Path: img.Path, Value: v.Pinned})
		}
	}
	if len(refused) > 0 {
		resp.Allowed = false
		resp.Result = &Status{Status: "Failure", Code: 403, Reason: "Forbidden",
			Message: fmt.Sprintf("berth refused %d image(s): %s", len(refused), strings.Join(refused, "; "))}
		return resp, nil
	}
	if len(patch) > 0 {
		b, err := json.Marshal(patch)
		if err != nil {
			return nil, err
		}
		pt := PatchTypeJSONPatch
		resp.Patch, resp.PatchType = b, &pt
	}
	return resp, nil
}

// maxImages bounds the distinct images of one reviewed object, so that
// one request cannot make the registry resolve thousands (a pod has a
// handful).
const maxImages = 256

func distinct(images []imageAt) int {
	seen := map[string]bool{}
	for _, img := range images {
		seen[img.Image] = true
	}
	return len(seen)
}

// oldImages are the images an update's old object already had.
func (rv *Reviewer) oldImages(req *Request) map[string]bool {
	if req.Operation != Update || len(req.OldObject) == 0 {
		return nil
	}
	spec, pointer, ok, err := podSpecOf(req.Kind, req.OldObject)
	if err != nil || !ok || spec == nil {
		return nil
	}
	old := map[string]bool{}
	for _, img := range imagesOf(spec, pointer) {
		old[img.Image] = true
	}
	return old
}

func describe(image string, v verdict) string {
	if v.Digest != "" {
		return fmt.Sprintf("image %s (%s): %s", image, v.Digest, v.Reason)
	}
	return fmt.Sprintf("image %s: %s", image, v.Reason)
}

func kindString(k GroupVersionKind) string {
	if k.Group == "" {
		return k.Kind
	}
	return k.Kind + "." + k.Group
}
