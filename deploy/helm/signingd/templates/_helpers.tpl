{{/* The release's resource name, at most 63 characters. */}}
{{- define "signingd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "signingd.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "signingd.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "signingd.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The environment every signingd container gets: plain settings, the landscape's path, the Secret. */}}
{{- define "signingd.env" -}}
env:
  - name: CONFIG_FILE
    value: /etc/signingd/landscape.yaml
  - name: SHUTDOWN_TIMEOUT
    value: {{ printf "%ds" (int .Values.shutdownTimeoutSeconds) | quote }}
  - name: METRICS_ADDR
    value: {{ printf ":%d" (int .Values.service.metricsPort) | quote }}
  # with the migration Job, replicas never migrate themselves
  - name: MIGRATE_ON_START
    value: {{ ternary "false" "true" .Values.migrations.enabled | quote }}
  {{- range $k, $v := .Values.env }}
  {{- if or (has $k (list "DATABASE_URL" "SECRET_KEY" "KEY_ENCRYPTION_KEY" "SIGNING_KEY_FILES")) (contains "PASSWORD" $k) (contains "SECRET" $k) (hasSuffix "_KEY" $k) }}
  {{- fail (printf "env.%s: a secret; put it in the Secret named by secret.name, not in values" $k) }}
  {{- end }}
  - name: {{ $k }}
    value: {{ $v | toString | quote }}
  {{- end }}
envFrom:
  - secretRef:
      name: {{ required "secret.name: the Secret holding DATABASE_URL, SECRET_KEY and KEY_ENCRYPTION_KEY" .Values.secret.name }}
  {{- with .Values.extraEnvFrom }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
