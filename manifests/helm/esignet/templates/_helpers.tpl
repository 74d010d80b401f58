{{/* Names and labels. */}}
{{- define "esignet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "esignet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "esignet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "esignet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "esignet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "esignet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: oidc-provider
app.kubernetes.io/part-of: esignet
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Pod labels: the selector labels always win over podLabels (merge gives the first dict precedence). */}}
{{- define "esignet.podLabels" -}}
{{- $standard := dict "app.kubernetes.io/version" (.Chart.AppVersion | toString) "app.kubernetes.io/component" "oidc-provider" "app.kubernetes.io/part-of" "esignet" -}}
{{- $labels := merge (fromYaml (include "esignet.selectorLabels" .)) $standard (deepCopy .Values.podLabels) -}}
{{- toYaml $labels -}}
{{- end -}}

{{- define "esignet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "esignet.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "esignet.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Grace period: preStop sleep + the host's shutdown delay (whole seconds, rounded up) + drain + 10 s unless set. */}}
{{- define "esignet.gracePeriod" -}}
{{- if .Values.terminationGracePeriodSeconds -}}
{{- .Values.terminationGracePeriodSeconds | int -}}
{{- else -}}
{{- $delay := div (add (.Values.runtimeConfig.server.shutdown_delay_ms | default 0 | int) 999) 1000 -}}
{{- add (.Values.preStopSleepSeconds | int) $delay (.Values.runtimeConfig.server.drain_seconds | int) 10 -}}
{{- end -}}
{{- end -}}

{{/* True when more than one replica can run: every backend must then be shared. */}}
{{- define "esignet.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) -}}true{{- end -}}
{{- end -}}

{{/* Refuse configurations that would split state between replicas. */}}
{{- define "esignet.validate" -}}
{{- if include "esignet.multiReplica" . -}}
{{- if ne .Values.backends.sql.type "postgres" -}}
{{- fail "backends.sql.type must be postgres when more than one replica can run (autoscaling.enabled or replicaCount > 1): SQLite lives in one pod" -}}
{{- end -}}
{{- if ne .Values.backends.cache.type "redis" -}}
{{- fail "backends.cache.type must be redis when more than one replica can run: the memory cache lives in one pod, and a login may land on any replica" -}}
{{- end -}}
{{- if ne .Values.backends.keys.type "pkcs11" -}}
{{- fail "backends.keys.type must be pkcs11 when more than one replica can run: a soft keystore per pod gives each replica different keys" -}}
{{- end -}}
{{- if .Values.demo -}}
{{- fail "demo must be false when more than one replica can run (demo seeding is single-machine)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The prometheus-adapter rule that turns the host's in-flight gauge into the per-pod custom metric the HPA
reads. Kept identical to manifests/helm/prometheus-adapter-values.yaml (manifests/check compares them). */}}
{{- define "esignet.adapterRules" -}}
rules:
  - seriesQuery: '{{ .Values.autoscaling.inFlight.metricName }}{namespace!="",pod!=""}'
    resources:
      overrides:
        namespace: {resource: namespace}
        pod: {resource: pod}
    name:
      matches: "^{{ .Values.autoscaling.inFlight.metricName }}$"
      as: "{{ .Values.autoscaling.inFlight.metricName }}"
    metricsQuery: 'sum(avg_over_time(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
{{- end -}}
