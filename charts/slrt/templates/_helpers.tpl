{{/* Name of the chart's objects. */}}
{{- define "slrt.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "slrt.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "slrt.distribution" -}}
{{- if not (has .Values.k8sDistribution (list "k3s" "containerd")) -}}
{{- fail (printf "k8sDistribution %q: want k3s or containerd" .Values.k8sDistribution) -}}
{{- end -}}
{{- .Values.k8sDistribution -}}
{{- end -}}

{{/* The node's containerd config (k3s: the rendered one). */}}
{{- define "slrt.config" -}}
{{- if eq (include "slrt.distribution" .) "k3s" -}}{{ .Values.k3s.config }}{{- else -}}{{ .Values.containerd.config }}{{- end -}}
{{- end -}}

{{- define "slrt.restart" -}}
{{- $r := .Values.installer.restart -}}
{{- if not $r -}}
{{- if eq (include "slrt.distribution" .) "k3s" -}}{{ $r = .Values.k3s.restart }}{{- else -}}{{ $r = .Values.containerd.restart }}{{- end -}}
{{- end -}}
{{- if not (or (eq $r "none") (hasPrefix "command:" $r) (hasPrefix "signal:" $r)) -}}
{{- fail (printf "installer.restart %q: want none, command:CMD or signal:PIDFILE:SIG" $r) -}}
{{- end -}}
{{- $r -}}
{{- end -}}

{{/* hostPID only when the restart reaches a host process. */}}
{{- define "slrt.hostPID" -}}
{{- ne (include "slrt.restart" .) "none" -}}
{{- end -}}

{{- define "slrt.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "slrt.nodeLabelKey" -}}
{{- index (splitList "=" .Values.installer.nodeLabel) 0 -}}
{{- end -}}

{{- define "slrt.nodeLabelValue" -}}
{{- $kv := splitList "=" .Values.installer.nodeLabel -}}
{{- if ne (len $kv) 2 -}}{{- fail (printf "installer.nodeLabel %q: want key=value" .Values.installer.nodeLabel) -}}{{- end -}}
{{- index $kv 1 -}}
{{- end -}}

{{/*
The host paths the installer touches, each mounted at /host<path>: the
directory of the config (templates, drop-in directories and conf.d live
there), the bin dir, and the pidfile's directory for a signal restart.
*/}}
{{- define "slrt.hostDirs" -}}
{{- $dirs := list (dir (include "slrt.config" .)) .Values.installer.binDir -}}
{{- $r := include "slrt.restart" . -}}
{{- if hasPrefix "signal:" $r -}}
{{- $parts := splitList ":" $r -}}
{{- $dirs = append $dirs (dir (index $parts 1)) -}}
{{- end -}}
{{- toJson (uniq $dirs) -}}
{{- end -}}

{{- define "slrt.volumeMounts" -}}
{{- range $i, $d := include "slrt.hostDirs" . | fromJsonArray }}
- name: host-{{ $i }}
  mountPath: /host{{ $d }}
{{- end }}
{{- end -}}

{{- define "slrt.volumes" -}}
{{- range $i, $d := include "slrt.hostDirs" . | fromJsonArray }}
- name: host-{{ $i }}
  hostPath:
    path: {{ $d }}
    type: Directory
{{- end }}
{{- end -}}

{{/* Arguments install and uninstall share. */}}
{{- define "slrt.nodeArgs" -}}
- {{ printf "--host-root=/host" | quote }}
- {{ printf "--distribution=%s" (include "slrt.distribution" .) | quote }}
- {{ printf "--config=%s" (include "slrt.config" .) | quote }}
- {{ printf "--bin-dir=%s" .Values.installer.binDir | quote }}
- {{ printf "--restart=%s" (include "slrt.restart" .) | quote }}
- "--label-node=$(NODE_NAME)"
- {{ printf "--label=%s" .Values.installer.nodeLabel | quote }}
{{- end -}}
