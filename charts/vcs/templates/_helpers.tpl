{{- define "vcs.name" -}}vcs-operator{{- end -}}
{{- define "vcs.labels" -}}
app.kubernetes.io/name: vcs-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
vcs.dev/region: {{ .Values.region }}
{{- end -}}
{{- define "vcs.selector" -}}
app.kubernetes.io/name: vcs-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "vcs.recorderImage" -}}
{{- $image := .Values.recorder.image -}}
{{- if kindIs "string" $image -}}
{{ $image }}
{{- else -}}
{{ $image.repository }}:{{ $image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
