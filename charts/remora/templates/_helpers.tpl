{{/* The release's base name: "remora" for `helm install remora`. */}}
{{- define "remora.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 48 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "remora.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: remora
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: include "remora.selector" (list . "injector") */}}
{{- define "remora.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* An image reference: include "remora.image" (list . .Values.injector.image).
global.imageRegistry, when set, takes the place of the repository's registry (its first
part when that names a host: a dot, a port or localhost), so one value moves all four
images to a mirror. */}}
{{- define "remora.image" -}}
{{- $root := index . 0 -}}
{{- $image := index . 1 -}}
{{- $repository := $image.repository -}}
{{- with (($root.Values.global | default dict).imageRegistry) -}}
{{- $parts := splitList "/" $repository -}}
{{- $first := first $parts -}}
{{- if and (gt (len $parts) 1) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) -}}
{{- $repository = join "/" (rest $parts) -}}
{{- end -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository -}}
{{- end -}}
{{- printf "%s:%s" $repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{- define "remora.injector.name" -}}{{ include "remora.fullname" . }}-injector{{- end -}}
{{- define "remora.hub.name" -}}{{ include "remora.fullname" . }}-hub{{- end -}}
{{- define "remora.injector.secret" -}}{{ include "remora.fullname" . }}-injector-tls{{- end -}}
{{- define "remora.injector.certificate" -}}{{ include "remora.fullname" . }}-injector-serving{{- end -}}
{{- define "remora.webhook.name" -}}{{ include "remora.fullname" . }}{{- end -}}

{{/* "true" when the hub serves TLS: hub.tls.enabled, where "auto" (the default) means
whenever cert-manager issues the chart's certificates. */}}
{{- define "remora.hub.tls" -}}
{{- if eq (toString .Values.hub.tls.enabled) "auto" -}}
{{- ternary "true" "false" (and .Values.certManager.enabled true) -}}
{{- else -}}
{{- ternary "true" "false" (eq (toString .Values.hub.tls.enabled) "true") -}}
{{- end -}}
{{- end -}}

{{/* The hub's address for sidecars in every namespace. */}}
{{- define "remora.hub.address" -}}
{{- printf "%s://%s.%s.svc:%v" (ternary "wss" "ws" (eq (include "remora.hub.tls" .) "true")) (include "remora.hub.name" .) .Release.Namespace .Values.hub.port -}}
{{- end -}}

{{/* "true" when the platform assigns pods their UID and group (OpenShift's
restricted-v2 SCC refuses fixed ones outside the namespace's range): openshift "auto"
(the default) asks the API server for SecurityContextConstraints. */}}
{{- define "remora.uidAssigned" -}}
{{- if eq (toString .Values.openshift) "auto" -}}
{{- ternary "true" "false" (.Capabilities.APIVersions.Has "security.openshift.io/v1/SecurityContextConstraints") -}}
{{- else -}}
{{- ternary "true" "false" (eq (toString .Values.openshift) "true") -}}
{{- end -}}
{{- end -}}

{{/* Restricted-profile security context for Remora's own containers; the UID and group
fixed only where the platform does not assign them. */}}
{{- define "remora.securityContext" -}}
runAsNonRoot: true
{{- if ne (include "remora.uidAssigned" .) "true" }}
runAsUser: 65532
runAsGroup: 65532
{{- end }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
