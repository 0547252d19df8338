{{/* berth.webhook is one webhook entry; .path is the server's handler. */}}
{{- define "berth.webhook" -}}
{{- $root := .root -}}
- name: {{ .name }}
  admissionReviewVersions: ["v1"]
  sideEffects: None
  failurePolicy: {{ $root.Values.admission.failurePolicy }}
  timeoutSeconds: {{ $root.Values.admission.timeoutSeconds }}
  matchPolicy: Equivalent
  {{- if .mutate }}
  reinvocationPolicy: IfNeeded
  {{- end }}
  clientConfig:
    service:
      name: {{ include "berth.fullname" $root }}
      namespace: {{ $root.Release.Namespace }}
      path: {{ .path }}
      port: {{ $root.Values.admission.port }}
    {{- with $root.Values.admission.caBundle }}
    caBundle: {{ . }}
    {{- end }}
  # berth's own namespace is exempt, so berth can start (and be repaired)
  # while no berth answers.
  namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: NotIn
        values:
          - {{ $root.Release.Namespace }}
          {{- range $root.Values.admission.excludeNamespaces }}
          - {{ . }}
          {{- end }}
  rules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["pods", "pods/ephemeralcontainers"]
      scope: Namespaced
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["deployments", "statefulsets", "daemonsets", "replicasets"]
      scope: Namespaced
    - apiGroups: ["batch"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["jobs", "cronjobs"]
      scope: Namespaced
{{- end }}

{{- define "berth.webhookAnnotations" -}}
{{- if and .Values.tls.certManager.issuerName (not .Values.admission.caBundle) }}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "berth.fullname" .) }}
{{- end }}
{{- end }}
