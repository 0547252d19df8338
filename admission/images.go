package admission

import (
	"encoding/json"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// imageAt is one container's image and the JSON pointer to it in the
// reviewed object (for the mutating path's patch).
type imageAt struct {
	Path  string
	Image string
}

// podSpecOf decodes a reviewed object of kind and returns its pod spec
// (nil when a ReplicationController has no template) and the JSON
// pointer to it; ok is false for kinds that hold none.
func podSpecOf(kind metav1.GroupVersionKind, raw []byte) (spec *corev1.PodSpec, pointer string, ok bool, err error) {
	const template = "/spec/template/spec"
	var decode func([]byte) (*corev1.PodSpec, error)
	switch (metav1.GroupKind{Group: kind.Group, Kind: kind.Kind}) {
	case metav1.GroupKind{Kind: "Pod"}:
		decode, pointer = specIn(func(o *corev1.Pod) *corev1.PodSpec { return &o.Spec }), "/spec"
	case metav1.GroupKind{Kind: "PodTemplate"}:
		decode, pointer = specIn(func(o *corev1.PodTemplate) *corev1.PodSpec { return &o.Template.Spec }), "/template/spec"
	case metav1.GroupKind{Kind: "ReplicationController"}:
		decode, pointer = specIn(func(o *corev1.ReplicationController) *corev1.PodSpec {
			if o.Spec.Template == nil {
				return nil
			}
			return &o.Spec.Template.Spec
		}), template
	case metav1.GroupKind{Group: "apps", Kind: "Deployment"}:
		decode, pointer = specIn(func(o *appsv1.Deployment) *corev1.PodSpec { return &o.Spec.Template.Spec }), template
	case metav1.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		decode, pointer = specIn(func(o *appsv1.StatefulSet) *corev1.PodSpec { return &o.Spec.Template.Spec }), template
	case metav1.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		decode, pointer = specIn(func(o *appsv1.DaemonSet) *corev1.PodSpec { return &o.Spec.Template.Spec }), template
	case metav1.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		decode, pointer = specIn(func(o *appsv1.ReplicaSet) *corev1.PodSpec { return &o.Spec.Template.Spec }), template
	case metav1.GroupKind{Group: "batch", Kind: "Job"}:
		decode, pointer = specIn(func(o *batchv1.Job) *corev1.PodSpec { return &o.Spec.Template.Spec }), template
	case metav1.GroupKind{Group: "batch", Kind: "CronJob"}:
		decode, pointer = specIn(func(o *batchv1.CronJob) *corev1.PodSpec { return &o.Spec.JobTemplate.Spec.Template.Spec }),
			"/spec/jobTemplate"+template
	default:
		return nil, "", false, nil
	}
	if spec, err = decode(raw); err != nil {
		return nil, "", true, fmt.Errorf("request.object is not a %s: %w", kind.Kind, err)
	}
	return spec, pointer, true, nil
}

// specIn decodes an object of type T and returns the pod spec spec finds
// in it.
func specIn[T any](spec func(*T) *corev1.PodSpec) func([]byte) (*corev1.PodSpec, error) {
	return func(raw []byte) (*corev1.PodSpec, error) {
		var o T
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		return spec(&o), nil
	}
}

// imagesOf lists every image of a pod spec: its init, regular and
// ephemeral containers, with their JSON pointers under pointer.
func imagesOf(spec *corev1.PodSpec, pointer string) []imageAt {
	var out []imageAt
	add := func(field string, i int, image string) {
		out = append(out, imageAt{Path: pointer + "/" + field + "/" + strconv.Itoa(i) + "/image", Image: image})
	}
	for i, c := range spec.InitContainers {
		add("initContainers", i, c.Image)
	}
	for i, c := range spec.Containers {
		add("containers", i, c.Image)
	}
	for i, c := range spec.EphemeralContainers {
		add("ephemeralContainers", i, c.Image)
	}
	return out
}
