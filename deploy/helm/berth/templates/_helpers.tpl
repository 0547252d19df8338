{{/* berth.name is the chart's name, overridable. */}}
{{- define "berth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* berth.fullname names every object of the release. */}}
{{- define "berth.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "berth.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "berth.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "berth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "berth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "berth.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "berth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "berth.scaleout" -}}
{{- if eq .Values.mode "scaleout" }}true{{ end }}
{{- end }}

{{/* berth.tls is set when the server speaks HTTPS itself. */}}
{{- define "berth.tls" -}}
{{- if or .Values.tls.existingSecret .Values.tls.certManager.issuerName }}true{{ end }}
{{- end }}

{{- define "berth.tlsSecret" -}}
{{- default (printf "%s-tls" (include "berth.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{- define "berth.scheme" -}}
{{- if include "berth.tls" . }}https{{ else }}http{{ end }}
{{- end }}

{{/* berth.serviceURL is how pods of the cluster reach berth. */}}
{{- define "berth.serviceURL" -}}
{{- printf "%s://%s.%s.svc:%v" (include "berth.scheme" .) (include "berth.fullname" .) .Release.Namespace .Values.service.port }}
{{- end }}

{{- define "berth.externalURL" -}}
{{- if .Values.externalURL }}
{{- .Values.externalURL }}
{{- else if .Values.ingress.enabled }}
{{- printf "https://%s" .Values.ingress.host }}
{{- else }}
{{- include "berth.serviceURL" . }}
{{- end }}
{{- end }}

{{- define "berth.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "berth.adminSecret" -}}
{{- default (printf "%s-admin" (include "berth.fullname" .)) .Values.adminPassword.existingSecret }}
{{- end }}

{{- define "berth.keySecret" -}}
{{- default (printf "%s-secret-key" (include "berth.fullname" .)) .Values.secretKey.existingSecret }}
{{- end }}

{{/* berth.useKeySecret: the secret key comes from a Secret (always in
scale-out, where every node needs the same key) rather than the volume. */}}
{{- define "berth.useKeySecret" -}}
{{- if or (include "berth.scaleout" .) .Values.secretKey.existingSecret }}true{{ end }}
{{- end }}

{{- define "berth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "berth.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* berth.checkValues fails early on combinations that cannot run. */}}
{{- define "berth.checkValues" -}}
{{- if include "berth.scaleout" . }}
{{- if not .Values.database.existingSecret }}
{{- fail "mode scaleout: database.existingSecret is required (a Secret holding the PostgreSQL URL under database.key)" }}
{{- end }}
{{- if not .Values.s3.bucket }}
{{- fail "mode scaleout: s3.bucket is required (blobs are shared through the bucket)" }}
{{- end }}
{{- if and .Values.s3.redirect .Values.s3.cache.enabled }}
{{- fail "s3.redirect and s3.cache.enabled exclude each other (redirected pulls never reach the cache)" }}
{{- end }}
{{- end }}
{{- if and .Values.admission.enabled (not (include "berth.tls" .)) }}
{{- fail "admission.enabled: the API server calls webhooks over HTTPS; set tls.existingSecret or tls.certManager.issuerName" }}
{{- end }}
{{- if and .Values.admission.enabled (not .Values.admission.caBundle) (not .Values.tls.certManager.issuerName) }}
{{- fail "admission.enabled: set admission.caBundle (the CA of tls.existingSecret, base64 PEM) or use tls.certManager.issuerName, whose CA cert-manager injects" }}
{{- end }}
{{- end }}
