{{/* berth.env: the server's environment. Secrets arrive as variables,
never in the ConfigMap. */}}
{{- define "berth.env" -}}
- name: BERTH_ADDR
  value: {{ printf ":%v" .Values.service.port | quote }}
- name: BERTH_DATA
  value: /var/lib/berth
- name: BERTH_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "berth.adminSecret" . }}
      key: {{ .Values.adminPassword.key }}
{{- if include "berth.scaleout" . }}
- name: BERTH_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.key }}
{{- if .Values.s3.existingSecret }}
- name: BERTH_STORAGE_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.s3.existingSecret }}
      key: {{ .Values.s3.accessKeyKey }}
- name: BERTH_STORAGE_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.s3.existingSecret }}
      key: {{ .Values.s3.secretKeyKey }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* berth.volumeMounts: the config file, /tmp, the data directory and
whatever Secrets the server reads as files. */}}
{{- define "berth.volumeMounts" -}}
- name: config
  mountPath: /etc/berth/berth.yaml
  subPath: berth.yaml
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/berth
{{- if include "berth.useKeySecret" . }}
- name: secret-key
  mountPath: /etc/berth/secret
  readOnly: true
{{- end }}
{{- if include "berth.tls" . }}
- name: tls
  mountPath: /etc/berth/tls
  readOnly: true
{{- end }}
{{- end }}

{{/* berth.volumes: data is added by the workload (a claim in embedded
mode, an emptyDir in scale-out). */}}
{{- define "berth.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir: {}
{{- if include "berth.useKeySecret" .root }}
- name: secret-key
  secret:
    secretName: {{ include "berth.keySecret" .root }}
    defaultMode: 0440
    items:
      - key: {{ .root.Values.secretKey.key }}
        path: secret.key
{{- end }}
{{- if include "berth.tls" .root }}
- name: tls
  secret:
    secretName: {{ include "berth.tlsSecret" .root }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{/* berth.container: the berth server container; .args are its
arguments (serve or migrate). */}}
{{- define "berth.container" -}}
{{- $root := .root -}}
name: berth
image: {{ include "berth.image" $root }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
args:
{{- toYaml .args | nindent 2 }}
env:
{{- include "berth.env" $root | nindent 2 }}
volumeMounts:
{{- include "berth.volumeMounts" $root | nindent 2 }}
securityContext:
{{- toYaml $root.Values.securityContext | nindent 2 }}
resources:
{{- toYaml $root.Values.resources | nindent 2 }}
{{- end }}

{{/* berth.podSpec: the pod of the server's workload. */}}
{{- define "berth.podSpec" -}}
serviceAccountName: {{ include "berth.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
{{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
containers:
  - {{ include "berth.container" (dict "root" . "args" (list "-config" "/etc/berth/berth.yaml")) | indent 4 | trim }}
    ports:
      - name: http
        containerPort: {{ .Values.service.port }}
        protocol: TCP
      {{- if .Values.metrics.enabled }}
      - name: metrics
        containerPort: {{ .Values.metrics.port }}
        protocol: TCP
      {{- end }}
      {{- if .Values.admission.enabled }}
      - name: admission
        containerPort: {{ .Values.admission.port }}
        protocol: TCP
      {{- end }}
    livenessProbe:
      httpGet:
        path: /livez
        port: http
        scheme: {{ include "berth.scheme" . | upper }}
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 6
    readinessProbe:
      httpGet:
        path: /healthz
        port: http
        scheme: {{ include "berth.scheme" . | upper }}
      periodSeconds: 5
      timeoutSeconds: 3
      failureThreshold: 2
    startupProbe:
      httpGet:
        path: /livez
        port: http
        scheme: {{ include "berth.scheme" . | upper }}
      periodSeconds: 2
      failureThreshold: 150
volumes:
{{- include "berth.volumes" (dict "root" . "configMap" (include "berth.fullname" .)) | nindent 2 }}
{{- if include "berth.scaleout" . }}
  - name: data
    emptyDir:
      {{- if .Values.s3.cache.enabled }}
      sizeLimit: {{ .Values.s3.cache.sizeLimit }}
      {{- else }}
      sizeLimit: 1Gi
      {{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* berth.podMetadata: labels and the checksum that rolls the pods when
the configuration changes. */}}
{{- define "berth.podMetadata" -}}
labels:
  {{- include "berth.selectorLabels" . | nindent 2 }}
  {{- with .Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ include "berth.config" . | sha256sum }}
  {{- with .Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
