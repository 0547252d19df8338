package admission

import "encoding/json"

// The admission.k8s.io/v1 wire format, as far as a webhook reads and
// writes it. Declared here rather than taken from k8s.io/api so that an
// embedder of the server (which mounts this package) compiles none of
// Kubernetes' API packages; the tests build their requests and read the
// answers with k8s.io/api's own types, which keeps these honest.

// APIVersion is the AdmissionReview version served ("admissionReviewVersions: [v1]").
const APIVersion = "admission.k8s.io/v1"

// Review is an AdmissionReview: the API server sends a Request, the
// webhook answers the same apiVersion and kind with a Response.
type Review struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Request    *Request  `json:"request,omitempty"`
	Response   *Response `json:"response,omitempty"`
}

// GroupVersionKind names the reviewed object's type.
type GroupVersionKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

// Operations of a Request.
const (
	Create  = "CREATE"
	Update  = "UPDATE"
	Delete  = "DELETE"
	Connect = "CONNECT"
)

// Request is what the API server asks about: an operation on an object.
type Request struct {
	UID       string           `json:"uid"`
	Kind      GroupVersionKind `json:"kind"`
	Name      string           `json:"name,omitempty"`
	Namespace string           `json:"namespace,omitempty"`
	Operation string           `json:"operation"`
	Object    json.RawMessage  `json:"object,omitempty"`
	OldObject json.RawMessage  `json:"oldObject,omitempty"`
	DryRun    *bool            `json:"dryRun,omitempty"`
}

// PatchTypeJSONPatch is the only patch type the API server applies.
const PatchTypeJSONPatch = "JSONPatch"

// Response is the webhook's decision: Result says why when refused;
// Patch (an RFC 6902 JSON Patch, base64 on the wire) changes an allowed
// object on the mutating path.
type Response struct {
	UID       string  `json:"uid"`
	Allowed   bool    `json:"allowed"`
	Result    *Status `json:"status,omitempty"`
	Patch     []byte  `json:"patch,omitempty"`
	PatchType *string `json:"patchType,omitempty"`
}

// Status is a metav1.Status: the message the API server shows the user.
type Status struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Code    int32  `json:"code,omitempty"`
}
