{{/* Chart name. */}}
{{- define "threadline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name of the chart's objects. */}}
{{- define "threadline.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "threadline.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "threadline.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Common labels; call with (dict "root" $ "component" "api"). */}}
{{- define "threadline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: threadline
{{ include "threadline.selectorLabels" . }}
{{- end -}}

{{- define "threadline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "threadline.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "threadline.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else -}}
{{ printf "%s:%s" .Values.image.repository $tag }}
{{- end -}}
{{- end -}}

{{- define "threadline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "threadline.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "threadline.secretName" -}}
{{- default (printf "%s-keys" (include "threadline.fullname" .)) .Values.secrets.name -}}
{{- end -}}

{{/* Non-secret THREADLINE_* settings (ConfigMap data, and the migration Job's env). */}}
{{- define "threadline.configData" -}}
THREADLINE_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
THREADLINE_LOG_JSON: {{ .Values.config.logJson | toString | quote }}
THREADLINE_DEFAULT_REGION: {{ .Values.config.defaultRegion | quote }}
THREADLINE_COMPANY_DOMAINS: {{ .Values.config.companyDomains | quote }}
THREADLINE_ASTERISK_TIMEZONE: {{ .Values.config.asteriskTimezone | quote }}
THREADLINE_PARTITIONS: {{ .Values.config.partitions | toString | quote }}
THREADLINE_REPLICATION_FACTOR: {{ .Values.config.replicationFactor | toString | quote }}
THREADLINE_CONSUMER_GROUP: {{ .Values.config.consumerGroup | quote }}
THREADLINE_BATCH_SIZE: {{ .Values.config.batchSize | toString | quote }}
THREADLINE_BATCH_WITHIN_S: {{ .Values.config.batchWithinSeconds | toString | quote }}
THREADLINE_DRAIN_TIMEOUT_S: {{ .Values.config.drainTimeoutSeconds | toString | quote }}
THREADLINE_KAFKA_BOOTSTRAP: {{ .Values.kafka.bootstrap | quote }}
THREADLINE_SECURITY_PROTOCOL: {{ .Values.kafka.securityProtocol | quote }}
{{- with .Values.kafka.saslMechanism }}
THREADLINE_SASL_MECHANISM: {{ . | quote }}
{{- end }}
{{- if .Values.kafka.tls.caSecretName }}
THREADLINE_SSL_CAFILE: {{ printf "/etc/threadline/kafka-ca/%s" .Values.kafka.tls.caKey | quote }}
{{- end }}
THREADLINE_HOST: "0.0.0.0"
THREADLINE_SMTP_HOST: "0.0.0.0"
THREADLINE_METRICS_HOST: "0.0.0.0"
THREADLINE_SMTP_METRICS_HOST: "0.0.0.0"
THREADLINE_API_PORT: {{ .Values.api.port | toString | quote }}
THREADLINE_INGEST_PORT: {{ .Values.ingest.port | toString | quote }}
THREADLINE_SMTP_PORT: {{ .Values.smtp.port | toString | quote }}
THREADLINE_SMTP_METRICS_PORT: {{ .Values.smtp.metricsPort | toString | quote }}
THREADLINE_METRICS_PORT: {{ .Values.worker.metricsPort | toString | quote }}
{{- range $name, $value := .Values.config.extra }}
{{ printf "THREADLINE_%s" (upper $name) }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Secret env of a role; call with (dict "root" $ "role" "api"). */}}
{{- define "threadline.secretEnv" -}}
{{- $v := .root.Values -}}
{{- $keys := include "threadline.secretName" .root -}}
{{- if has .role (list "api" "worker" "migrate" "insights-refresh" "insights-signals") }}
- name: THREADLINE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.secretName is required" $v.database.secretName }}
      key: {{ $v.database.urlKey }}
{{- end }}
{{- if has .role (list "api" "worker") }}
- name: THREADLINE_ERASURE_SALT
  valueFrom:
    secretKeyRef: {name: {{ $keys }}, key: {{ $v.secrets.erasureSaltKey }}}
{{- end }}
{{- if eq .role "api" }}
- name: THREADLINE_API_KEYS
  valueFrom:
    secretKeyRef: {name: {{ $keys }}, key: {{ $v.secrets.apiKeysKey }}}
{{- end }}
{{- if has .role (list "ingest" "smtp") }}
- name: THREADLINE_WRITE_KEYS
  valueFrom:
    secretKeyRef: {name: {{ $keys }}, key: {{ $v.secrets.writeKeysKey }}}
{{- end }}
{{- if eq .role "ingest" }}
- name: THREADLINE_TWILIO_AUTH_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ $keys }}, key: {{ $v.secrets.twilioAuthTokenKey }}, optional: true}
- name: THREADLINE_SHOPIFY_WEBHOOK_SECRET
  valueFrom:
    secretKeyRef: {name: {{ $keys }}, key: {{ $v.secrets.shopifyWebhookSecretKey }}, optional: true}
{{- end }}
{{- if eq .role "insights-signals" }}
- name: THREADLINE_SIGNAL_WEBHOOK_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ $keys }}, key: {{ $v.secrets.signalWebhookTokenKey }}, optional: true}
{{- end }}
{{- if $v.kafka.sasl.secretName }}
- name: THREADLINE_SASL_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ $v.kafka.sasl.secretName }}, key: {{ $v.kafka.sasl.usernameKey }}}
- name: THREADLINE_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $v.kafka.sasl.secretName }}, key: {{ $v.kafka.sasl.passwordKey }}}
{{- end }}
{{- end -}}

{{/* Volumes every pod mounts: a writable /tmp and the Kafka CA when TLS is used. */}}
{{- define "threadline.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if .Values.kafka.tls.caSecretName }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecretName }}
{{- end }}
{{- end -}}

{{- define "threadline.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecretName }}
- name: kafka-ca
  mountPath: /etc/threadline/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every component; call with (dict "root" $ "component" "api" "spec" .Values.api). */}}
{{- define "threadline.podSettings" -}}
serviceAccountName: {{ include "threadline.serviceAccountName" .root }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
{{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: {{ $.root.Values.topologySpread.maxSkew }}
    topologyKey: {{ $key }}
    whenUnsatisfiable: {{ $.root.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "threadline.selectorLabels" (dict "root" $.root "component" $.component) | nindent 8 }}
{{- end }}
{{- end }}
volumes:
  {{- include "threadline.volumes" .root | nindent 2 }}
{{- end -}}

{{/* The container of a long-running role; call with (dict "root" $ "component" "api" "spec" .Values.api "probePort" "http" "ports" (list ...)). */}}
{{- define "threadline.container" -}}
- name: {{ .component }}
  image: {{ include "threadline.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args: [{{ .component | quote }}]
  {{- if eq .component "worker" }}
  workingDir: /tmp
  {{- end }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      containerPort: {{ .port }}
      protocol: TCP
    {{- end }}
  envFrom:
    - configMapRef:
        name: {{ include "threadline.fullname" .root }}
  env:
    {{- include "threadline.secretEnv" (dict "root" .root "role" .component) | nindent 4 }}
    {{- with .spec.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  startupProbe:
    httpGet: {path: /healthz, port: {{ .probePort }}}
    periodSeconds: 2
    failureThreshold: 60
  livenessProbe:
    httpGet: {path: /healthz, port: {{ .probePort }}}
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  readinessProbe:
    httpGet: {path: /readyz, port: {{ .probePort }}}
    periodSeconds: 5
    timeoutSeconds: 5
    failureThreshold: 3
  resources:
    {{- toYaml .spec.resources | nindent 4 }}
  securityContext:
    {{- toYaml .root.Values.securityContext | nindent 4 }}
  volumeMounts:
    {{- include "threadline.volumeMounts" .root | nindent 4 }}
{{- end -}}

{{/* The long-running components as JSON: name, ports, probe port, metrics port name. */}}
{{- define "threadline.components" -}}
{{- $v := .Values -}}
{{- $list := list -}}
{{- if $v.api.enabled -}}
{{- $list = append $list (dict "name" "api" "ports" (list (dict "name" "http" "port" $v.api.port)) "probePort" "http") -}}
{{- end -}}
{{- if $v.ingest.enabled -}}
{{- $list = append $list (dict "name" "ingest" "ports" (list (dict "name" "http" "port" $v.ingest.port)) "probePort" "http") -}}
{{- end -}}
{{- if $v.smtp.enabled -}}
{{- $list = append $list (dict "name" "smtp" "ports" (list (dict "name" "smtp" "port" $v.smtp.port) (dict "name" "metrics" "port" $v.smtp.metricsPort)) "probePort" "metrics") -}}
{{- end -}}
{{- if $v.worker.enabled -}}
{{- $list = append $list (dict "name" "worker" "ports" (list (dict "name" "metrics" "port" $v.worker.metricsPort)) "probePort" "metrics") -}}
{{- end -}}
{{- toJson $list -}}
{{- end -}}
