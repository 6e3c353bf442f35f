{{- define "netconverge.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "netconverge.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "netconverge.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "netconverge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "netconverge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The pod template's spec, shared by the Deployment (one shard) and the StatefulSet (sharded:
pod k serves shard k % shards, taken from its name; replica r of shard i is pod r*shards+i). */}}
{{- define "netconverge.podSpec" -}}
{{- $sharded := gt (int .Values.sharding.shards) 1 }}
{{- $leader := or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) (and $sharded (gt (int .Values.sharding.replicasPerShard) 1)) }}
    spec:
      serviceAccountName: {{ include "netconverge.serviceAccountName" . }}
      automountServiceAccountToken: true
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
        - name: netconverge
          image: "{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          args:
            - run
            - --kube
            - --store=/var/lib/netconverge/netconverge.db
            - --listen=0.0.0.0:{{ .Values.service.port }}
            - --max-concurrent-devices={{ .Values.controller.maxConcurrentDevices }}
            - --max-concurrent-rules={{ .Values.controller.maxConcurrentRules | int64 }}
            - --log-level={{ .Values.controller.logLevel }}
            - --log-format={{ .Values.controller.logFormat }}
            - --retention={{ .Values.controller.retention }}
            - --kube-qps={{ .Values.kube.qps }}
            - --kube-burst={{ .Values.kube.burst }}
            {{- with .Values.api.existingSecret }}
            {{- if $.Values.api.apiKeysKey }}
            - --api-keys-file=/etc/netconverge/api/{{ $.Values.api.apiKeysKey }}
            {{- end }}
            {{- if $.Values.api.jwtSecretKey }}
            - --jwt-secret-file=/etc/netconverge/api/{{ $.Values.api.jwtSecretKey }}
            {{- end }}
            {{- end }}
            {{- with .Values.notifications.existingSecret }}
            - --config=/etc/netconverge/notify/{{ $.Values.notifications.configKey }}
            {{- end }}
            {{- if .Values.api.metricsAuth }}
            - --metrics-auth
            {{- end }}
            {{- if .Values.controller.autoMigrate }}
            - --auto-migrate
            {{- end }}
            {{- if gt (int .Values.sharding.shards) 1 }}
            - --shards={{ .Values.sharding.shards }}
            {{- end }}
            {{- if $leader }}
            - --leader-elect
            - --leader-elect-lease-duration={{ .Values.leaderElection.leaseDuration }}
            - --leader-elect-renew-deadline={{ .Values.leaderElection.renewDeadline }}
            - --leader-elect-retry-period={{ .Values.leaderElection.retryPeriod }}
            {{- end }}
            {{- range .Values.controller.extraArgs }}
            - {{ . | quote }}
            {{- end }}
          env:
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: POD_NAMESPACE
              valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
          ports:
            - name: http
              containerPort: {{ .Values.service.port }}
              protocol: TCP
          livenessProbe:
            httpGet: {path: {{ .Values.probes.liveness.path }}, port: http}
            initialDelaySeconds: {{ .Values.probes.liveness.initialDelaySeconds }}
            periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
          readinessProbe:
            httpGet: {path: {{ .Values.probes.readiness.path }}, port: http}
            initialDelaySeconds: {{ .Values.probes.readiness.initialDelaySeconds }}
            periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          volumeMounts:
            - name: store
              mountPath: /var/lib/netconverge
            - name: tmp
              mountPath: /tmp
            {{- if .Values.api.existingSecret }}
            - name: api-credentials
              mountPath: /etc/netconverge/api
              readOnly: true
            {{- end }}
            {{- if .Values.notifications.existingSecret }}
            - name: notify
              mountPath: /etc/netconverge/notify
              readOnly: true
            {{- end }}
      volumes:
        {{- if not (gt (int .Values.sharding.shards) 1) }}
        - name: store
          {{- if .Values.persistence.enabled }}
          persistentVolumeClaim:
            claimName: {{ include "netconverge.fullname" . }}
          {{- else }}
          emptyDir: {}
          {{- end }}
        {{- else if not .Values.persistence.enabled }}
        - name: store
          emptyDir: {}
        {{- end }}
        - name: tmp
          emptyDir: {}
        {{- if .Values.api.existingSecret }}
        - name: api-credentials
          secret:
            secretName: {{ .Values.api.existingSecret }}
            defaultMode: 0400
        {{- end }}
        {{- if .Values.notifications.existingSecret }}
        - name: notify
          secret:
            secretName: {{ .Values.notifications.existingSecret }}
            defaultMode: 0400
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
