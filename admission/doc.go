// Package admission decides Kubernetes admission reviews for pod images
// with a registry's pull gates: a pod (or a workload's pod template)
// whose image this registry would refuse to serve — unsigned under a
// signing policy, vulnerable above its project's threshold, refused by
// any other gate — is refused before it is created, with the gate's
// reason, instead of failing at pull time. Images of other registries
// follow allow and deny rules. The mutating path can pin tags to the
// digest judged (repo:tag@sha256:...), so that what was judged is what
// runs.
//
// A Reviewer serves Validate and Mutate; the reference server mounts them
// at /k8s/admission/validate and /k8s/admission/mutate:
//
//	rv, err := admission.New(reg, gates, []string{"berth.example.com", "berth.berth.svc:5000"},
//		admission.WithRules(admission.Rules{Allow: []string{"docker.io/library/*"}}),
//		admission.WithPinning())
//	mux.Handle("POST /k8s/admission/validate", rv.Validate())
//	mux.Handle("POST /k8s/admission/mutate", rv.Mutate())
//
// Pods (with their ephemeral containers), ReplicationControllers,
// PodTemplates, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs
// and CronJobs are reviewed: every image of their init, regular and
// ephemeral containers. An update is judged on the images it adds (a
// label change to a running pod is not refused because its image has
// since become vulnerable). DELETE and CONNECT, and other kinds, are
// allowed. Decisions (and tags' digests) are cached for a TTL, so a
// review of known images answers from memory; a signature or a scan
// report added meanwhile, or a tag moved, takes effect after it.
//
// What the registry holds is judged: an image of a proxy cache project
// that was never pulled through berth is not found, and refused, until
// it is pulled once. The registry's Authorizer is not asked: whether the
// pod's pull secret may pull the image is the node's business at pull
// time; the webhook judges the image, not the credentials.
//
// The API server calls webhooks over HTTPS only, with no credentials, so
// the endpoints need no login and answer nothing but the decision: serve
// berth with TLS (its tls settings) or behind a TLS-terminating Service,
// and give the configuration the CA that signed the certificate. A
// decision names what it judged — a tag's digest, a refusal's reason
// (CVE identifiers) — to whoever asks, for any repository: let only the
// API server reach the paths where private repositories' contents are
// secret (the reference server's admission.addr serves them on a
// listener of their own, which an ingress in front of the main one never
// reaches). The
// configuration the endpoints expect:
//
//	apiVersion: admissionregistration.k8s.io/v1
//	kind: ValidatingWebhookConfiguration
//	metadata:
//	  name: berth
//	webhooks:
//	  - name: images.berth.example.com
//	    admissionReviewVersions: ["v1"]
//	    sideEffects: None
//	    timeoutSeconds: 10
//	    failurePolicy: Fail
//	    clientConfig:
//	      service: {namespace: berth, name: berth, port: 443, path: /k8s/admission/validate}
//	      caBundle: <base64 PEM of the CA>
//	    rules:
//	      - apiGroups: [""]
//	        apiVersions: ["v1"]
//	        operations: ["CREATE", "UPDATE"]
//	        resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates"]
//	      - apiGroups: ["apps"]
//	        apiVersions: ["v1"]
//	        operations: ["CREATE", "UPDATE"]
//	        resources: ["deployments", "statefulsets", "daemonsets", "replicasets"]
//	      - apiGroups: ["batch"]
//	        apiVersions: ["v1"]
//	        operations: ["CREATE", "UPDATE"]
//	        resources: ["jobs", "cronjobs"]
//	    namespaceSelector:
//	      matchExpressions:
//	        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, berth]}
//
// A MutatingWebhookConfiguration is the same with path
// /k8s/admission/mutate (and reinvocationPolicy: IfNeeded, so images
// other webhooks add are pinned too).
//
// failurePolicy: Fail refuses every pod while berth cannot answer — the
// secure choice, but exclude berth's own namespace (as above) so that
// berth can start when nothing else can, and kube-system. Ignore keeps
// the cluster running when berth is down, and admits unjudged images
// meanwhile. When berth answers but cannot decide (its database is
// down), it refuses: it fails closed whatever the policy.
package admission
