package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// imageAt is one container's image and the JSON pointer to it in the
// reviewed object (for the mutating path's patch).
type imageAt struct {
	Path  string
	Image string
}

// podSpec is what a pod spec says about images.
type podSpec struct {
	InitContainers      []container `json:"initContainers"`
	Containers          []container `json:"containers"`
	EphemeralContainers []container `json:"ephemeralContainers"`
}

type container struct {
	Image string `json:"image"`
}

// podSpecPath is the fields leading to the pod spec in each reviewed
// kind; nil for kinds that hold none.
func podSpecPath(kind GroupVersionKind) []string {
	template := []string{"spec", "template", "spec"}
	switch kind.Group + "/" + kind.Kind {
	case "/Pod":
		return []string{"spec"}
	case "/PodTemplate":
		return []string{"template", "spec"}
	case "/ReplicationController", "apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "apps/ReplicaSet", "batch/Job":
		return template
	case "batch/CronJob":
		return append([]string{"spec", "jobTemplate"}, template...)
	}
	return nil
}

// podSpecOf decodes a reviewed object of kind and returns its pod spec
// (nil when the object has no template, as a ReplicationController may
// not) and the JSON pointer to it; ok is false for kinds that hold none.
func podSpecOf(kind GroupVersionKind, raw []byte) (spec *podSpec, pointer string, ok bool, err error) {
	path := podSpecPath(kind)
	if path == nil {
		return nil, "", false, nil
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, "", true, fmt.Errorf("request.object is missing: a %s to review is required", kind.Kind)
	}
	at := raw
	for i, field := range path {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(at, &obj); err != nil {
			return nil, "", true, fmt.Errorf("request.object is not a %s: %s: %w", kind.Kind, "/"+strings.Join(path[:i], "/"), err)
		}
		next, found := obj[field]
		if !found || bytes.Equal(next, []byte("null")) {
			return nil, "", true, nil
		}
		at = next
	}
	spec = new(podSpec)
	if err := json.Unmarshal(at, spec); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			err = fmt.Errorf("%s: want %s", typeErr.Field, typeErr.Type)
		}
		return nil, "", true, fmt.Errorf("request.object is not a %s: %w", kind.Kind, err)
	}
	return spec, "/" + strings.Join(path, "/"), true, nil
}

// imagesOf lists every image of a pod spec: its init, regular and
// ephemeral containers, with their JSON pointers under pointer.
func imagesOf(spec *podSpec, pointer string) []imageAt {
	var out []imageAt
	add := func(field string, cs []container) {
		for i, c := range cs {
			out = append(out, imageAt{Path: pointer + "/" + field + "/" + strconv.Itoa(i) + "/image", Image: c.Image})
		}
	}
	add("initContainers", spec.InitContainers)
	add("containers", spec.Containers)
	add("ephemeralContainers", spec.EphemeralContainers)
	return out
}
