{{/* berth.config renders berth.yaml: .Values.config (any key of
berth.example.yaml) under what the chart itself decides. Secrets never
land here: they reach the server as BERTH_* variables from Secrets. addr
and data come from the container's environment (BERTH_ADDR, BERTH_DATA). */}}
{{- define "berth.config" -}}
{{- $cfg := deepCopy (default dict .Values.config) }}
{{- $_ := set $cfg "external_url" (include "berth.externalURL" .) }}
{{- if include "berth.useKeySecret" . }}
{{- $_ := set $cfg "secret_key_file" "/etc/berth/secret/secret.key" }}
{{- end }}
{{- if .Values.metrics.enabled }}
{{- $_ := set $cfg "metrics_addr" (printf ":%v" .Values.metrics.port) }}
{{- end }}
{{- if include "berth.tls" . }}
{{- $_ := set $cfg "tls" (dict "cert_file" "/etc/berth/tls/tls.crt" "key_file" "/etc/berth/tls/tls.key") }}
{{- end }}
{{- if include "berth.scaleout" . }}
{{- $db := default dict (get $cfg "database") }}
{{- $_ := set $db "max_conns" (int .Values.database.maxConns) }}
{{- $_ := set $cfg "database" $db }}
{{- $s3 := dict "bucket" .Values.s3.bucket "endpoint" .Values.s3.endpoint "region" .Values.s3.region "prefix" .Values.s3.prefix "path_style" .Values.s3.pathStyle "redirect" .Values.s3.redirect }}
{{- if .Values.s3.cache.enabled }}
{{- $_ := set $s3 "cache_dir" "/var/lib/berth/cache" }}
{{- $_ := set $s3 "cache_max_bytes" (int64 .Values.s3.cache.maxBytes) }}
{{- end }}
{{- $_ := set $cfg "storage" (dict "s3" $s3) }}
{{- end }}
{{- if .Values.admission.enabled }}
{{- $a := .Values.admission }}
{{- /* Pods may name images by the Service's names too. */}}
{{- $svc := printf "%s.%s.svc" (include "berth.fullname" .) .Release.Namespace }}
{{- $registries := concat $a.registries (list (printf "%s:%v" $svc .Values.service.port) (printf "%s.cluster.local:%v" $svc .Values.service.port)) }}
{{- $_ := set $cfg "admission" (dict "enabled" true "mutate" $a.mutate "registries" $registries "allow" $a.allow "deny" $a.deny "other_registries" $a.otherRegistries "cache_ttl" $a.cacheTTL "addr" (printf ":%v" $a.port)) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}
