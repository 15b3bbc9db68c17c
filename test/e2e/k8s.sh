#!/usr/bin/env bash
# test/e2e/k8s.sh — `make e2e-k8s`: charts/slrt on a real single-node
# Kubernetes, offline. etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kubelet v1.34.4 run as plain processes (built from the Go
# module proxy by k8s-tools.sh); kubelet talks CRI to a private containerd
# 2.4.2 (tools.sh) whose config is the node's: the chart's installer
# DaemonSet registers runtime handler sl in it. Then:
#
#   helm install  -> the installer pod (image localhost/slrt/slrt-installer:e2e,
#                    made by k8s-images.sh as k8s/Dockerfile would) copies the
#                    binaries to the node's bin dir, writes the drop-in and the
#                    imports entry, restarts containerd (signal to its
#                    supervisor's pidfile) and labels the node
#   pods with runtimeClassName sl: Running under containerd-shim-slrt-v2,
#                    logs, exec, a liveness probe that passes then fails (the
#                    container is restarted), a container that exits and is
#                    restarted, a slrt.io/* annotation in the shim's bundle
#   fast start       -> a pod with slrt.io/fast-start "2" and slrt.io/cpu-affinity
#                    runs pinned; its restarted container is one of the parked
#                    shells; slrt.io/sched fifo:50 is refused, naming the annotation
#   helm uninstall -> the pre-delete Job runs slrt-installer uninstall: node unlabelled,
#                    containerd's config restored byte for byte, binaries gone
#
#   test/e2e/k8s.sh run     everything above, then down (default)
#   test/e2e/k8s.sh up      start the cluster only (kubectl: k8s.sh kubectl ...)
#   test/e2e/k8s.sh down    stop it and undo every host change
#
# Everything lives in $SLRT_K8S_DIR (default /tmp/slrt-k8s). Host changes,
# all undone by down: bridge slrtk8s0 (10.232.0.1/24) with one FORWARD drop
# rule and one DNAT rule (pods reach the API server's service IP: there is no
# kube-proxy), a shared bind mount of the kubelet dir, /var/log/containers,
# kubepods cgroups, the sysctls kubelet sets. Ports: etcd 23790/23800,
# apiserver 10.232.0.1:16443, kubelet 20250/20248, kcm 20257, scheduler 20259.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
K=${SLRT_K8S_DIR:-/tmp/slrt-k8s}
TOOLS=${SLRT_TOOLS:-$HOME/.cache/slrt/tools}
KUBE=$TOOLS/kubernetes-v1.34.4
ETCD=$TOOLS/etcd-v3.6.4/etcd
HELM=$TOOLS/helm-v3.22.0/helm
CTDDIR=$TOOLS/containerd-2.4.2
RUNCSHIM=$TOOLS/containerd-shim-runc-v2-v2.4.2
BUILD=${BUILD:-$repo/build}
NODE=slrt-k8s
IP=10.232.0.1
BR=slrtk8s0
API=https://$IP:16443
NODEFS=$K/node               # the node's own files the installer touches
CFG=$NODEFS/etc/containerd/config.toml
BIN=$NODEFS/bin
SOCK=$K/containerd.sock
PIDS=$K/pids
LOGS=$K/logs
KR=$K/kubelet
NS=slrt-system
export KUBECONFIG=$K/kubeconfig/admin.conf
export HELM_CACHE_HOME=$K/helm/cache HELM_CONFIG_HOME=$K/helm/config HELM_DATA_HOME=$K/helm/data

t0=${EPOCHREALTIME/./}
say() { echo "[$(((${EPOCHREALTIME/./} - t0) / 1000000))s] $*"; }
die() { echo "k8s.sh: $*" >&2; exit 1; }
kc() { "$KUBE/kubectl" "$@"; }

# bg NAME CMD...: a daemon, its log in $LOGS, its pid in $PIDS.
bg() {
	local n=$1
	shift
	nohup "$@" >"$LOGS/$n.log" 2>&1 &
	echo $! >"$PIDS/$n.pid"
}

# poll SECONDS WHAT CMD...: until CMD succeeds.
poll() {
	local s=$1 what=$2
	shift 2
	local end=$((SECONDS + s))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || { echo "k8s.sh: $what: not after ${s}s" >&2; return 1; }
		sleep 0.3
	done
}

pki() {
	local p=$K/pki
	mkdir -p "$p" "$K/kubeconfig"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$p/ca.key" -out "$p/ca.crt" -days 2 -subj /CN=slrt-e2e-ca 2>/dev/null
	# cert NAME SUBJECT [SAN]
	cert() {
		openssl req -newkey rsa:2048 -nodes -keyout "$p/$1.key" -out "$p/$1.csr" -subj "$2" 2>/dev/null
		if [ -n "${3:-}" ]; then
			printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" >"$p/$1.ext"
		else
			printf 'extendedKeyUsage=clientAuth\n' >"$p/$1.ext"
		fi
		openssl x509 -req -in "$p/$1.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 2 \
			-extfile "$p/$1.ext" -out "$p/$1.crt" 2>/dev/null
		rm -f "$p/$1.csr" "$p/$1.ext"
	}
	cert apiserver /CN=kube-apiserver \
		"DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:$IP,IP:10.96.0.1,IP:127.0.0.1"
	cert admin "/O=system:masters/CN=admin"
	cert kubelet "/O=system:nodes/CN=system:node:$NODE"
	cert kcm /CN=system:kube-controller-manager
	cert scheduler /CN=system:kube-scheduler
	cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
	openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
	openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
	local n
	for n in admin kubelet kcm scheduler; do
		cat >"$K/kubeconfig/$n.conf" <<C
apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: "$API", certificate-authority: "$p/ca.crt"}}]
users: [{name: $n, user: {client-certificate: "$p/$n.crt", client-key: "$p/$n.key"}}]
contexts: [{name: e2e, context: {cluster: e2e, user: $n}}]
current-context: e2e
C
	done
}

# The node's containerd config before slrt: CRI on, runc the default
# runtime, the pause image imported below, CNI on the bridge. The installer
# adds sl to it; down compares it with config.orig.
node_config() {
	mkdir -p "$(dirname "$CFG")" "$BIN" "$K/cni/net.d" "$K/state"
	cat >"$CFG" <<C
version = 3
root = "$K/root"
state = "$K/state"

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[plugins]
  [plugins."io.containerd.shim.v1.manager"]
    socket_dir = "$K/state/s"

  [plugins."io.containerd.cri.v1.images"]
    snapshotter = "overlayfs"

    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = "localhost/slrt/pause:e2e"

  [plugins."io.containerd.cri.v1.runtime"]
    # root has no CAP_SYS_RESOURCE on these machines
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true

    [plugins."io.containerd.cri.v1.runtime".cni]
      bin_dirs = ["/usr/lib/cni"]
      conf_dir = "$K/cni/net.d"

    [plugins."io.containerd.cri.v1.runtime".containerd]
      default_runtime_name = "runc"

      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        runtime_path = "$RUNCSHIM/containerd-shim-runc-v2"

        [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
          Root = "$K/state/runc"

  [plugins."io.containerd.grpc.v1.cri"]
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
C
	cp -p "$CFG" "$K/config.orig"
	cat >"$K/cni/net.d/10-slrt-e2e.conflist" <<J
{"cniVersion": "1.0.0", "name": "slrt-e2e", "plugins": [
  {"type": "bridge", "bridge": "$BR", "isGateway": false, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$K/cni/ipam",
            "ranges": [[{"subnet": "10.232.0.0/24", "gateway": "$IP"}]],
            "routes": [{"dst": "10.96.0.0/16", "gw": "$IP"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
J
}

# containerd under a supervisor loop (a node's init system, in effect): the
# installer restarts it with signal:$K/run/containerd.pid:TERM. It runs in its
# own mount namespace with a private /run; the kubelet dir is a shared mount
# made before, so the volumes kubelet mounts reach it.
start_containerd() {
	# shellcheck disable=SC2016
	nohup unshare --mount --propagation unchanged bash -c '
		mount --make-private "$(findmnt -n -o TARGET -T /run)"
		mount -t tmpfs -o mode=755 slrt-k8s-run /run
		while [ ! -e "$0/containerd.stop" ]; do
			"$1" --config "$2" --log-level info >>"$0/logs/containerd.log" 2>&1 &
			echo $! >"$0/run/containerd.pid"
			wait $! || true
		done' "$K" "$CTDDIR/containerd" "$CFG" >"$LOGS/supervisor.log" 2>&1 &
	echo $! >"$PIDS/supervisor.pid"
	poll 30 containerd "$CTDDIR/ctr" -a "$SOCK" version
}

up() {
	[ "$(id -u)" = 0 ] || die "run as root"
	for f in "$KUBE/kubelet" "$ETCD" "$HELM" "$CTDDIR/containerd" "$RUNCSHIM/containerd-shim-runc-v2"; do
		[ -x "$f" ] || die "$f is not built (make e2e-k8s builds it: test/e2e/k8s-tools.sh, test/e2e/tools.sh)"
	done
	if [ ! -x /usr/lib/cni/bridge ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q containernetworking-plugins >/dev/null ||
			die "no CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)"
	fi
	down >/dev/null 2>&1 || true
	mkdir -p "$K" "$PIDS" "$LOGS" "$KR" "$K/run"
	pki
	"$here/k8s-images.sh" "$K/images" >/dev/null

	# Host changes, each undone by down.
	for s in vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes; do
		echo "$s=$(sysctl -n $s)"
	done >"$K/sysctl.orig"
	[ -d /var/log/containers ] || { mkdir -p /var/log/containers && touch "$K/created-var-log-containers"; }
	[ -d /var/lib/kubelet ] || touch "$K/created-var-lib-kubelet"
	mountpoint -q "$KR" || mount --bind "$KR" "$KR"
	mount --make-rshared "$KR"
	ip link add "$BR" type bridge 2>/dev/null || true
	ip addr add "$IP/24" dev "$BR" 2>/dev/null || true
	ip link set "$BR" up
	iptables -I FORWARD -i "$BR" ! -o "$BR" -j DROP
	iptables -t nat -I PREROUTING -i "$BR" -d 10.96.0.1 -p tcp --dport 443 -j DNAT --to-destination "$IP:16443"
	touch "$K/host-changed"

	node_config
	start_containerd
	"$CTDDIR/ctr" -a "$SOCK" -n k8s.io images import "$K/images/pause.tar" >/dev/null
	"$CTDDIR/ctr" -a "$SOCK" -n k8s.io images import "$K/images/installer.tar" >/dev/null
	"$CTDDIR/ctr" -a "$SOCK" -n k8s.io images import "$BUILD/busybox/busybox-oci.tar" >/dev/null
	say "containerd up, images imported"

	bg etcd "$ETCD" --name e2e --data-dir "$K/etcd" --listen-client-urls http://127.0.0.1:23790 \
		--advertise-client-urls http://127.0.0.1:23790 --listen-peer-urls http://127.0.0.1:23800 \
		--initial-advertise-peer-urls http://127.0.0.1:23800 --initial-cluster e2e=http://127.0.0.1:23800 \
		--unsafe-no-fsync --log-level warn
	poll 30 etcd curl -fsS http://127.0.0.1:23790/health
	local p=$K/pki
	bg kube-apiserver "$KUBE/kube-apiserver" --etcd-servers=http://127.0.0.1:23790 \
		--bind-address="$IP" --secure-port=16443 --advertise-address="$IP" \
		--tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" --client-ca-file="$p/ca.crt" \
		--service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-cluster-ip-range=10.96.0.0/16 --authorization-mode=Node,RBAC \
		--kubelet-client-certificate="$p/apiserver-kubelet-client.crt" --kubelet-client-key="$p/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types=InternalIP --allow-privileged=true --profiling=false --v=1
	poll 60 kube-apiserver curl -fsS --cacert "$p/ca.crt" --cert "$p/admin.crt" --key "$p/admin.key" "$API/readyz"
	bg kube-controller-manager "$KUBE/kube-controller-manager" --kubeconfig="$K/kubeconfig/kcm.conf" \
		--authentication-kubeconfig="$K/kubeconfig/kcm.conf" --authorization-kubeconfig="$K/kubeconfig/kcm.conf" \
		--bind-address=127.0.0.1 --secure-port=20257 --leader-elect=false \
		--service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" \
		--use-service-account-credentials=true --profiling=false --v=1
	bg kube-scheduler "$KUBE/kube-scheduler" --kubeconfig="$K/kubeconfig/scheduler.conf" \
		--authentication-kubeconfig="$K/kubeconfig/scheduler.conf" --authorization-kubeconfig="$K/kubeconfig/scheduler.conf" \
		--bind-address=127.0.0.1 --secure-port=20259 --leader-elect=false --profiling=false --v=1
	cat >"$K/kubelet.yaml" <<Y
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $IP
port: 20250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 20248
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: $p/ca.crt}}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
makeIPTablesUtilChains: false
protectKernelDefaults: false
podLogsDir: $K/podlogs
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
Y
	bg kubelet "$KUBE/kubelet" --config="$K/kubelet.yaml" --kubeconfig="$K/kubeconfig/kubelet.conf" \
		--root-dir="$KR" --cert-dir="$KR/pki" --hostname-override="$NODE" --node-ip="$IP" --v=1
	poll 90 "node Ready" sh -c "[ \"\$('$KUBE/kubectl' get node $NODE -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
	say "node $NODE Ready"
}

# pod NAME COMMAND [EXTRA-SPEC-YAML [EXTRA-ANNOTATIONS]]: a busybox pod on
# RuntimeClass sl; EXTRA-ANNOTATIONS are more "key: value" entries of the
# annotations map, each starting with a comma.
pod() {
	kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata:
  name: $1
  annotations: {slrt.io/e2e: "annotation-of-$1"${4:-}}
spec:
  runtimeClassName: sl
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: localhost/slrt/busybox:latest
    imagePullPolicy: Never
    command: ["sh", "-c", "$2"]
${3:-}
Y
}

restarts() { kc get pod "$1" -o jsonpath='{.status.containerStatuses[0].restartCount}'; }

# ctrpid POD: the host pid of the pod's running container (containerd's
# task list, by the container id kubelet reports).
ctrpid() {
	local cid
	cid=$(kc get pod "$1" -o jsonpath='{.status.containerStatuses[0].containerID}')
	"$CTDDIR/ctr" -a "$SOCK" -n k8s.io task ls | awk -v id="${cid#containerd://}" '$1 == id && $3 == "RUNNING" { print $2 }'
}

# parked SHIM: the shim's children still running slrt-init from its memfd,
# in order. While the pod's sandbox and container run, these are the pod's
# fast-start shells (a container created but not started would be one too,
# but kubelet starts each right after creating it).
parked() {
	local p
	for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		case $(readlink "/proc/$p/exe" 2>/dev/null) in /memfd:*) echo "$p" ;; esac
	done | sort -n | tr '\n' ' '
}

# fast_start: issue 9 on a real kubelet. A pod annotated slrt.io/fast-start
# "2" and slrt.io/cpu-affinity (the node's last CPU) runs pinned there; its
# shim keeps two parked shells beside it; when the container exits, the one
# kubelet starts in its place is one of those shells (its pid was a parked
# shell's: the shell execs the workload in place), pinned too. A pod asking
# for slrt.io/sched fifo:50 is refused by this node (a new cgroup has no
# cpu.rt_runtime_us budget), and kubelet reports the error naming the
# annotation.
fast_start() {
	local cpu=$(($(nproc) - 1))
	say "fast start: slrt.io/fast-start 2, slrt.io/cpu-affinity $cpu; a restarted container comes from a parked shell"
	pod sl-fast 'grep Cpus_allowed_list /proc/self/status; echo run; sleep 10; exit 1' '' \
		", slrt.io/fast-start: \"2\", slrt.io/cpu-affinity: \"$cpu\""
	kc wait --for=condition=Ready pod/sl-fast --timeout=120s >/dev/null
	local pid shim shells="" new
	pid=$(ctrpid sl-fast)
	[ -n "$pid" ] || die "sl-fast: no running task"
	shim=$(awk '{ print $4 }' "/proc/$pid/stat")
	[ "$(readlink "/proc/$shim/exe")" = "$BIN/containerd-shim-slrt-v2" ] || die "sl-fast: $pid's parent $shim is not the shim"
	# Two shells while the first container runs (the pool refills 200 ms
	# after a shell is taken).
	local end=$((SECONDS + 20))
	until [ "$(wc -w <<<"$(parked "$shim")")" = 2 ]; do
		[ $SECONDS -lt $end ] || die "sl-fast: the shim has parked shells '$(parked "$shim")', want 2"
		sleep 0.2
	done
	shells=$(parked "$shim")
	kc logs sl-fast | grep -x "Cpus_allowed_list:[[:space:]]*$cpu" >/dev/null ||
		die "sl-fast: affinity: $(kc logs sl-fast | head -1), want $cpu"
	poll 90 "sl-fast restarted and running" sh -c "[ \"\$('$KUBE/kubectl' get pod sl-fast -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ] &&
		[ -n \"\$('$KUBE/kubectl' get pod sl-fast -o jsonpath='{.status.containerStatuses[0].state.running}')\" ]"
	end=$((SECONDS + 10))
	until new=$(ctrpid sl-fast) && [ -n "$new" ]; do
		[ $SECONDS -lt $end ] || die "sl-fast: no running task after the restart"
		sleep 0.2
	done
	case " $shells " in
	*" $new "*) ;;
	*) die "sl-fast: the restarted container's init $new was not one of the parked shells ($shells)" ;;
	esac
	kc logs sl-fast | grep -x "Cpus_allowed_list:[[:space:]]*$cpu" >/dev/null ||
		die "sl-fast: affinity after the restart: $(kc logs sl-fast | head -1), want $cpu"
	# The shim's log reaches containerd's: the pool, and no refusal for the
	# restarted container.
	grep -q ': fast start with 2 shells$' "$LOGS/containerd.log" || die "sl-fast: the shim did not log its pool"
	local cid
	cid=$(kc get pod sl-fast -o jsonpath='{.status.containerStatuses[0].containerID}')
	! grep "container ${cid#containerd://}: created without a fast-start shell" "$LOGS/containerd.log" ||
		die "sl-fast: the restarted container was not given a shell"
	say "the restarted container is parked shell $new of ($shells), pinned to CPU $cpu"

	say "slrt.io/sched fifo:50: refused by this node, the pod says why"
	pod sl-rt 'exec sleep 3600' '' ', slrt.io/sched: "fifo:50"'
	local msg=""
	end=$((SECONDS + 60))
	until grep -q 'slrt.io/sched' <<<"$msg"; do
		[ $SECONDS -lt $end ] || die "sl-rt: no error naming slrt.io/sched; status: $(kc get pod sl-rt -o jsonpath='{.status.containerStatuses}')"
		sleep 0.5
		msg=$(kc get pod sl-rt -o jsonpath='{.status.containerStatuses[0].state.waiting.message}')
	done
	# containerd creates the shim's task in StartContainer, so kubelet
	# says RunContainerError (the CRI code is FailedPrecondition).
	case $(kc get pod sl-rt -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}') in
	RunContainerError | CreateContainerError | CrashLoopBackOff) ;;
	*) die "sl-rt: $(kc get pod sl-rt -o jsonpath='{.status.containerStatuses[0].state}')" ;;
	esac
	grep -q 'the node does not allow it' <<<"$msg" || die "sl-rt: $msg"
	case $(kc get pod sl-rt -o jsonpath='{.status.containerStatuses[0].lastState.terminated.reason}') in
	"" | StartError) ;;
	*) die "sl-rt: a container ran: $(kc get pod sl-rt -o jsonpath='{.status.containerStatuses[0].lastState}')" ;;
	esac
	say "sl-rt: $msg"
	kc delete pod sl-fast sl-rt --wait=true --timeout=60s >/dev/null
}

check() {
	say "helm install (installer DaemonSet, restart by signal to containerd's supervisor)"
	local old_pid
	old_pid=$(cat "$K/run/containerd.pid")
	"$HELM" install slrt "$repo/charts/slrt" --namespace "$NS" --create-namespace --wait --timeout 180s \
		--set k8sDistribution=containerd --set containerd.config="$CFG" --set installer.binDir="$BIN" \
		--set installer.restart="signal:$K/run/containerd.pid:TERM" \
		--set image.repository=localhost/slrt/slrt-installer --set image.tag=e2e --set image.pullPolicy=Never
	poll 120 "node labelled slrt.io/installed=true" sh -c "'$KUBE/kubectl' get nodes -l slrt.io/installed=true -o name | grep -qx node/$NODE"
	kc -n "$NS" logs -l app.kubernetes.io/component=installer --tail=20 || true
	[ "$(kc -n "$NS" get pods -l app.kubernetes.io/component=installer -o jsonpath='{..restartCount}')" = 0 ] ||
		die "the installer restarted: $(kc -n "$NS" get pods -o wide; kc -n "$NS" logs -l app.kubernetes.io/component=installer --previous 2>&1)"
	[ "$(cat "$K/run/containerd.pid")" != "$old_pid" ] || die "containerd was not restarted"
	poll 60 "containerd back" "$CTDDIR/ctr" -a "$SOCK" version
	cmp -s "$CFG" "$K/config.orig" && die "config unchanged after install"
	grep -q 'runtimes.sl' "$NODEFS/etc/containerd/conf.d/slrt.toml" || die "no drop-in"
	[ -x "$BIN/containerd-shim-slrt-v2" ] || die "no shim in the bin dir"
	# The installer copies the node's two binaries, never itself.
	[ "$(ls "$BIN" | tr '\n' ' ')" = "containerd-shim-slrt-v2 slrt " ] || die "bin dir holds: $(ls "$BIN")"
	kc get runtimeclass sl -o yaml | grep -E 'handler|slrt.io/installed'

	say "pod on sl: Running, logs, exec"
	pod sl-web 'touch /tmp/alive; echo hello-from-sl; exec sleep 3600' '    livenessProbe:
      exec: {command: ["cat", "/tmp/alive"]}
      periodSeconds: 2
      failureThreshold: 1'
	kc wait --for=condition=Ready pod/sl-web --timeout=120s
	kc logs sl-web | grep -q hello-from-sl || die "logs: $(kc logs sl-web)"
	[ "$(kc exec sl-web -- sh -c 'echo exec-ok')" = exec-ok ] || die "exec"
	local cid shim
	cid=$(kc get pod sl-web -o jsonpath='{.status.containerStatuses[0].containerID}')
	cid=${cid#containerd://}
	# Only shims of this containerd (other tests may run theirs): the ones
	# in its mount namespace.
	local mnt p
	mnt=$(readlink "/proc/$(cat "$K/run/containerd.pid")/ns/mnt")
	shim=$(for p in $(pgrep -f containerd-shim-slrt-v2); do
		if [ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$mnt" ]; then readlink "/proc/$p/exe"; fi
	done | sort -u)
	[ "$shim" = "$BIN/containerd-shim-slrt-v2" ] || die "shim running from '$shim', want $BIN/containerd-shim-slrt-v2"
	grep -q '"slrt.io/e2e":"annotation-of-sl-web"' "$K/state/io.containerd.runtime.v2.task/k8s.io/$cid/config.json" ||
		die "annotation slrt.io/e2e is not in the container's bundle"
	say "the shim is $shim; the slrt.io/e2e annotation is in its bundle"

	say "liveness probe: passes, then fails and the container is restarted"
	sleep 5
	[ "$(restarts sl-web)" = 0 ] || die "restarted while the probe passes"
	kc exec sl-web -- rm /tmp/alive
	poll 60 "restart after the probe failed" sh -c "[ \"\$('$KUBE/kubectl' get pod sl-web -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ]"
	kc wait --for=condition=Ready pod/sl-web --timeout=60s

	say "a container that exits is restarted"
	pod sl-exit 'echo run; sleep 1; exit 3'
	poll 90 "sl-exit restarted" sh -c "[ \"\$('$KUBE/kubectl' get pod sl-exit -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ]"
	[ "$(kc get pod sl-exit -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode}')" = 3 ] ||
		die "sl-exit: last exit code $(kc get pod sl-exit -o jsonpath='{.status.containerStatuses[0].lastState}')"
	kc delete pod sl-web sl-exit --wait=true --timeout=60s >/dev/null

	fast_start

	say "helm uninstall (pre-delete Job runs slrt-installer uninstall)"
	"$HELM" uninstall slrt --namespace "$NS" --wait --timeout 180s
	kc -n "$NS" wait --for=delete pod --all --timeout=60s >/dev/null
	cmp "$CFG" "$K/config.orig" || { diff "$K/config.orig" "$CFG" || true; die "config not restored"; }
	[ ! -e "$NODEFS/etc/containerd/conf.d" ] || die "conf.d left behind"
	[ -z "$(ls -A "$BIN")" ] || die "bin dir not empty: $(ls "$BIN")"
	kc get nodes -l slrt.io/installed=true -o name | grep -qx "node/$NODE" && die "node still labelled"
	poll 60 "containerd back" "$CTDDIR/ctr" -a "$SOCK" version
	say "config restored byte for byte, binaries and label gone"
}

stop_pid() {
	local f=$PIDS/$1.pid p
	[ -f "$f" ] || return 0
	p=$(cat "$f")
	if kill -0 "$p" 2>/dev/null; then
		kill "$p"
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	fi
	rm -f "$f"
}

down() {
	stop_pid kubelet
	# containerd first (its supervisor sees the stop file and ends), then
	# whatever is left in its mount namespace: shims and containers.
	touch "$K/containerd.stop" 2>/dev/null || true
	if [ -f "$K/run/containerd.pid" ]; then
		local ctd mnt p
		ctd=$(cat "$K/run/containerd.pid")
		mnt=$(readlink "/proc/$ctd/ns/mnt" 2>/dev/null || true)
		if [ -n "$mnt" ]; then
			kill "$ctd" 2>/dev/null || true
			for _ in $(seq 50); do kill -0 "$ctd" 2>/dev/null || break; sleep 0.1; done
			stop_pid supervisor
			for p in $(ls /proc | grep -E '^[0-9]+$'); do
				[ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$mnt" ] && kill -9 "$p" 2>/dev/null
			done
		fi
	fi
	stop_pid supervisor
	for n in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_pid "$n"; done
	if [ -f "$K/host-changed" ]; then
		iptables -D FORWARD -i "$BR" ! -o "$BR" -j DROP 2>/dev/null || true
		iptables -t nat -D PREROUTING -i "$BR" -d 10.96.0.1 -p tcp --dport 443 -j DNAT --to-destination "$IP:16443" 2>/dev/null || true
		ip link del "$BR" 2>/dev/null || true
		rm -f "$K/host-changed"
	fi
	{ grep -oE " $KR/[^ ]+" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	while mountpoint -q "$KR" 2>/dev/null; do umount -l "$KR" || break; done
	# Containers left by their killed shims (they live in mount namespaces
	# of their own): every process in the cgroups of this kubelet's pods
	# (their uids are the kubelet dir's pods/), then those cgroups, then the
	# kubepods tree where empty (another kubelet may use it too).
	local uid c
	for uid in $(ls "$KR/pods" 2>/dev/null); do
		for c in $(find /sys/fs/cgroup/ -type d -name "pod$uid" 2>/dev/null); do
			for p in $(cat $(find "$c" -name cgroup.procs) 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		done
	done
	sleep 0.5
	for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
		if [ -d "$c" ]; then find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
	done
	if [ -f "$K/sysctl.orig" ]; then
		while IFS= read -r kv; do sysctl -q -w "$kv" >/dev/null || true; done <"$K/sysctl.orig"
		rm -f "$K/sysctl.orig"
	fi
	find /var/log/containers -maxdepth 1 -type l -lname "$K/*" -delete 2>/dev/null || true
	[ -f "$K/created-var-log-containers" ] && rmdir /var/log/containers 2>/dev/null || true
	[ -f "$K/created-var-lib-kubelet" ] && rm -rf /var/lib/kubelet || true
	rm -rf "$K"
}

case ${1:-run} in
up) up ;;
down) down ;;
kubectl) shift; kc "$@" ;;
run)
	# A subshell of its own, not a && list: errexit holds in up and check.
	set +e
	(
		set -e
		up
		check
	)
	rc=$?
	set -e
	if [ $rc -ne 0 ]; then
		echo "k8s.sh: FAILED (rc $rc); last lines of the logs:" >&2
		for l in "$LOGS"/*.log; do echo "== $l" >&2; tail -5 "$l" >&2; done
		[ "${KEEP:-0}" = 1 ] && { echo "KEEP=1: left running; test/e2e/k8s.sh down stops it" >&2; exit $rc; }
	fi
	down
	say "e2e-k8s: $([ $rc -eq 0 ] && echo passed || echo FAILED)"
	exit $rc
	;;
*) die "usage: $0 [run|up|down|kubectl ARGS]" ;;
esac
