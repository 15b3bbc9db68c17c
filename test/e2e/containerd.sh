#!/usr/bin/env bash
# test/e2e/containerd.sh — a private containerd for `make demo` and the e2e
# tests, with the runtime io.containerd.slrt.v2 (build/containerd-shim-slrt-v2).
#
#   test/e2e/containerd.sh start        start it (no-op when it runs)
#   test/e2e/containerd.sh stop         stop it and undo everything start did
#   test/e2e/containerd.sh restart      restart the daemon only (shims keep running)
#   test/e2e/containerd.sh ctr ARGS...  run ctr against it (see below)
#   test/e2e/containerd.sh crictl ARGS... run crictl against it (CRI mode)
#   test/e2e/containerd.sh registry     start the loopback registry and push
#                                       the CRI test images (CRI mode)
#   test/e2e/containerd.sh status       exit 0 when it runs
#   test/e2e/containerd.sh env          print its paths as shell variables
#
# Environment:
#   SLRT_CONTAINERD  version: 2.4.2 (default), 2.2.9 or 1.7.35 (built by
#                    tools.sh), or 1.6 (Debian 12's package, 1.6.20, unpacked
#                    by tools.sh from the .deb, not installed)
#   SLRT_E2E_DIR     base folder (default /tmp/slrt-e2e); this version's files
#                    are in $SLRT_E2E_DIR/<version>: config.toml, containerd.sock,
#                    containerd.pid, containerd.log, root/, state/, bin/
#   SLRT_SHIM        the shim (default <repo>/build/containerd-shim-slrt-v2)
#   SLRT_TOOLS       tools.sh's folder
#   SLRT_NAMESPACE   containerd namespace ctr uses (default slrt-e2e-<N>, N
#                    from the instance folder: containers' cgroups are
#                    /<namespace>/<id>, so instances of the same tests on one
#                    host, say two SLRT_E2E_DIRs, must not share it)
#   SLRT_CRI=1       start with the CRI plugin on (below)
#   SLRT_CRI_HANDLERS  extra CRI runtime handlers (CRI mode only), entries
#                    separated by spaces: NAME=RUNTIME_TYPE:SHIM[:OCI_BINARY]
#                    (SHIM: the runtime_path, empty for this version's runc
#                    shim when the type is io.containerd.runc.v2, or for
#                    containerd's own lookup otherwise; OCI_BINARY: the runc
#                    shim's BinaryName, its state in $DIR/state/NAME), e.g.
#                    crun=io.containerd.runc.v2::/usr/local/bin/crun-wrapper
#                    or slrt-b=io.containerd.slrt.v2:/tmp/b/containerd-shim-slrt-v2
#                    (a second slrt shim: pod_annotations as for sl)
#   SLRT_FGAC_POLICY, SLRT_FGAC_SOCKET  where the shims look for the FGAC
#                    policy and agent (default $DIR/fgac/fgac.json and
#                    fgac.sock: a test runs `slrt fgac serve` there; without
#                    it a pod asking for a profile fails, as on a node
#                    without a policy)
#
# Nothing goes to the host's containerd paths (/run/containerd, /var/lib/
# containerd, /etc/containerd) nor to /opt/containerd: root, state, sockets
# are under $SLRT_E2E_DIR, and containerd runs in its own mount namespace
# with a private tmpfs on /run. That namespace holds everything /run-based
# the daemon and the shims make (1.6/1.7 hard-code shim sockets in
# /run/containerd/s; 2.x gets socket_dir; the shim keeps its state in
# /run/slrt-shim; ctr's fifos go to /run/containerd/fifo) and every mount
# (snapshots, rootfs): they vanish with the namespace. `ctr` is therefore
# run inside it too (nsenter), so its fifos are where the shim looks.
#
# stop keeps the daemon's last log (with the shims' stderr) as
# ${TMPDIR:-/tmp}/slrt-e2e-containerd-<version>.log. It also removes the
# host-wide /k8s.io and /slrt cgroups (containerd's default parent for
# pods, the engine's for containers without a cgroupsPath) in every
# hierarchy where they did not exist when this instance started, once they
# are empty and no other containerd runs on the host.
#
# The CRI plugin is off unless SLRT_CRI=1 (the ctr tests need none of it).
# CRI mode (config v3 on 2.x, v2 on 1.6/1.7) adds, all private to this
# instance and all undone by stop:
#   - runtime handlers `sl` (io.containerd.slrt.v2, runtime_path = the shim,
#     pod_annotations ["slrt.io/*"]) and `runc` (io.containerd.runc.v2 with
#     the host's runc, for comparison; the default handler);
#     restrict_oom_score_adj = true (root here lacks CAP_SYS_RESOURCE);
#   - a CNI bridge slrtcri<N> on 10.235.<N>.0/24 (N from $DIR), no gateway
#     in the pods, no masquerade, and iptables FORWARD drops for traffic
#     between the bridge and anything else: pods reach each other and the
#     host, never past it. The CNI result cache entries for the network
#     slrt-cri-<N> in /var/lib/cni are removed by stop;
#   - the sandbox image registry.k8s.io/pause:3.10.2 (pinned) and the
#     busybox image, built offline (cri-images.sh) and imported with ctr in
#     the k8s.io namespace; every other pull goes through $DIR/certs.d
#     hosts.toml files to the loopback registry 127.0.0.1:<35000+N>
#     (`containerd.sh registry`), never off the machine;
#   - the stream server (exec, attach, port-forward) on 127.0.0.1;
#   - $DIR/hostpaths, a shared bind mount made before the daemon starts:
#     this host's / is a private mount, so host-path volumes that must
#     propagate (critest's mount propagation specs) live there;
#   - $DIR/crictl.yaml for crictl and critest.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
VERSION=${SLRT_CONTAINERD:-2.4.2}
VERSION=${VERSION#v}
BASE=${SLRT_E2E_DIR:-/tmp/slrt-e2e}
DIR=$BASE/$VERSION
SHIM=${SLRT_SHIM:-$repo/build/containerd-shim-slrt-v2}
FGAC_POLICY=${SLRT_FGAC_POLICY:-$DIR/fgac/fgac.json}
FGAC_SOCKET=${SLRT_FGAC_SOCKET:-$DIR/fgac/fgac.sock}
SOCK=$DIR/containerd.sock
PIDFILE=$DIR/containerd.pid
LOG=$DIR/containerd.log
CFG=$DIR/config.toml
TOOLS=${SLRT_TOOLS:-$HOME/.cache/slrt/tools}
CRI_TOOLS=$TOOLS/cri-tools-1.37.0
CRANE=$TOOLS/crane-0.22.1/crane
IMAGES=${SLRT_CRI_IMAGES:-$repo/build/cri-images}
# CRI-mode names, one set per instance folder, so two instances (another
# version, another SLRT_E2E_DIR) never share a bridge, subnet or port.
N=$(($(printf %s "$DIR" | cksum | cut -d' ' -f1) % 200 + 20))
NS=${SLRT_NAMESPACE:-slrt-e2e-$N}
BR=slrtcri$N
CNINET=slrt-cri-$N
SUBNET=10.235.$N
REGPORT=$((35000 + N))

die() {
	echo "containerd.sh: $*" >&2
	exit 1
}

# bins sets CONTAINERD and CTR for $VERSION.
bins() {
	case $VERSION in
	*)
		local d=${SLRT_TOOLS:-$HOME/.cache/slrt/tools}/containerd-$VERSION
		CONTAINERD=$d/containerd CTR=$d/ctr RUNC_SHIM=$d/containerd-shim-runc-v2
		# (the runc shim, for CRI mode's runc handler, came later: an older
		# folder gets it added)
		if [ ! -f "$d/.done" ] || { [ "${SLRT_CRI:-0}" = 1 ] && [ ! -x "$RUNC_SHIM" ]; }; then
			[ "${1:-}" = build ] || die "containerd $VERSION is not built (test/e2e/tools.sh $VERSION)"
			"$here/tools.sh" "$VERSION" >/dev/null
		fi
		;;
	esac
}

pid() {
	[ -f "$PIDFILE" ] || return 1
	local p
	p=$(cat "$PIDFILE")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
	# the pid must still be our containerd, not a recycled number
	[ "$(readlink "/proc/$p/ns/mnt")" = "$(cat "$DIR/mntns" 2>/dev/null)" ] || return 1
	echo "$p"
}

write_config() {
	# The runtime: containerd finds `containerd-shim-slrt-v2` on its PATH
	# (ctr --runtime io.containerd.slrt.v2); the CRI's runtime_path names
	# the binary directly.
	if [ -f "$DIR/cri" ]; then
		write_cri_config
		return
	fi
	case $VERSION in
	1.6 | 1.6.* | 1.7 | 1.7.*)
		cat >"$CFG" <<C
version = 2
root = "$DIR/root"
state = "$DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.sl]
  runtime_type = "io.containerd.slrt.v2"
  runtime_path = "$SHIM"
  pod_annotations = ["slrt.io/*"]
C
		;;
	*)
		cat >"$CFG" <<C
version = 3
root = "$DIR/root"
state = "$DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.podsandbox.controller.v1.podsandbox", "io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"

[plugins]
  [plugins."io.containerd.shim.v1.manager"]
    socket_dir = "$DIR/state/s"
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.sl]
    runtime_type = "io.containerd.slrt.v2"
    runtime_path = "$SHIM"
    pod_annotations = ["slrt.io/*"]
C
		;;
	esac
}

# write_cri_config: the config of CRI mode (see the top of this file).
# handlers TABLE: the CRI runtime handlers under TABLE (the containerd
# table of the CRI plugin, whose name differs between config v2 and v3):
# runc for comparison, sl for slrt, then $SLRT_CRI_HANDLERS'. One
# definition, so both versions run the same handlers.
handlers() {
	handler "$1" runc io.containerd.runc.v2 "$RUNC_SHIM" "$(command -v runc)"
	handler "$1" sl io.containerd.slrt.v2 "$SHIM" ""
	local e
	for e in ${SLRT_CRI_HANDLERS:-}; do
		parse_handler "$e"
		handler "$1" "$H_NAME" "$H_TYPE" "$H_SHIM" "$H_BIN"
	done
}

# handler TABLE NAME TYPE SHIM OCI_BINARY: one runtime handler's table.
handler() {
	local t=$1.runtimes.$2
	printf '      [%s]\n        runtime_type = "%s"\n' "$t" "$3"
	[ -z "$4" ] || printf '        runtime_path = "%s"\n' "$4"
	case $3 in
	io.containerd.slrt.*) printf '        pod_annotations = ["slrt.io/*"]\n' ;;
	esac
	[ -z "$5" ] || printf '        [%s.options]\n          BinaryName = "%s"\n          Root = "%s"\n          SystemdCgroup = false\n' \
		"$t" "$5" "$DIR/state/$2"
}

# parse_handler ENTRY: one $SLRT_CRI_HANDLERS entry into H_NAME, H_TYPE,
# H_SHIM and H_BIN (the runc type's empty SHIM becomes this version's runc
# shim). Exits naming the entry when it is malformed.
parse_handler() {
	local e=$1 rest
	H_NAME=${e%%=*} rest=${e#*=}
	[ "$H_NAME" != "$e" ] || die "SLRT_CRI_HANDLERS entry \"$e\": want NAME=RUNTIME_TYPE:SHIM[:OCI_BINARY]"
	case $H_NAME in
	'' | *[!a-z0-9-]*) die "SLRT_CRI_HANDLERS entry \"$e\": the name must be lower-case letters, digits and -" ;;
	runc | sl) die "SLRT_CRI_HANDLERS entry \"$e\": $H_NAME is a built-in handler" ;;
	esac
	IFS=: read -r H_TYPE H_SHIM H_BIN extra <<<"$rest"
	[ -z "${extra:-}" ] || die "SLRT_CRI_HANDLERS entry \"$e\": too many fields (paths may not hold ':')"
	case $H_TYPE in
	io.containerd.*.v[0-9]*) ;;
	*) die "SLRT_CRI_HANDLERS entry \"$e\": runtime type \"$H_TYPE\" is not io.containerd.<name>.v<N>" ;;
	esac
	if [ -z "$H_SHIM" ] && [ "$H_TYPE" = io.containerd.runc.v2 ]; then
		H_SHIM=$RUNC_SHIM
	fi
	local f
	for f in "$H_SHIM" "$H_BIN"; do
		[ -z "$f" ] || [ -x "$f" ] || die "SLRT_CRI_HANDLERS entry \"$e\": $f is not an executable file"
	done
	[ -z "$H_BIN" ] || [ "$H_TYPE" = io.containerd.runc.v2 ] ||
		die "SLRT_CRI_HANDLERS entry \"$e\": an OCI binary is only for io.containerd.runc.v2"
}

# handler_names: the CRI handlers this instance has, for messages.
handler_names() {
	local e names="sl, runc"
	for e in ${SLRT_CRI_HANDLERS:-}; do names="$names, ${e%%=*}"; done
	echo "$names"
}

write_cri_config() {
	local common='
[grpc]
  address = "'$SOCK'"
[ttrpc]
  address = "'$SOCK.ttrpc'"
'
	# NRI (1.7 and 2.x; 1.6 has none) with its socket in the instance
	# folder, for critest's NRI specs (--nri-socket); no plugins of ours.
	local nri='' nri_off='"io.containerd.nri.v1.nri", '
	case $VERSION in
	1.6 | 1.6.*) ;;
	*)
		nri_off=
		mkdir -p "$DIR/nri/plugins" "$DIR/nri/conf.d"
		nri='
  [plugins."io.containerd.nri.v1.nri"]
    disable = false
    socket_path = "'$DIR/nri/nri.sock'"
    plugin_path = "'$DIR/nri/plugins'"
    plugin_config_path = "'$DIR/nri/conf.d'"'
		;;
	esac
	case $VERSION in
	1.6 | 1.6.* | 1.7 | 1.7.*)
		cat >"$CFG" <<C
version = 2
root = "$DIR/root"
state = "$DIR/state"
disabled_plugins = ["io.containerd.internal.v1.opt", ${nri_off}"io.containerd.tracing.processor.v1.otlp"]
$common
[plugins]$nri
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.10.2"
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    netns_mounts_under_state_dir = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
$(handlers 'plugins."io.containerd.grpc.v1.cri".containerd')
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$DIR/cni/net.d"
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$DIR/certs.d"
C
		;;
	*)
		cat >"$CFG" <<C
version = 3
root = "$DIR/root"
state = "$DIR/state"
disabled_plugins = ["io.containerd.internal.v1.opt", ${nri_off}"io.containerd.tracing.processor.v1.otlp"]
$common
[plugins]$nri
  [plugins."io.containerd.shim.v1.manager"]
    socket_dir = "$DIR/state/s"
  [plugins."io.containerd.cri.v1.images"]
    snapshotter = "overlayfs"
    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = "registry.k8s.io/pause:3.10.2"
    [plugins."io.containerd.cri.v1.images".registry]
      config_path = "$DIR/certs.d"
  [plugins."io.containerd.transfer.v1.local"]
    config_path = "$DIR/certs.d"
  [plugins."io.containerd.grpc.v1.cri"]
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
  [plugins."io.containerd.cri.v1.runtime"]
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    [plugins."io.containerd.cri.v1.runtime".containerd]
      default_runtime_name = "runc"
$(handlers 'plugins."io.containerd.cri.v1.runtime".containerd')
    [plugins."io.containerd.cri.v1.runtime".cni]
      bin_dirs = ["/usr/lib/cni"]
      conf_dir = "$DIR/cni/net.d"
C
		;;
	esac

	# Registry mirrors: every host (the upstream ones critest names, and
	# any other through _default) is served by the loopback registry under
	# /v2/<host>/..., with no fallback to the real one.
	local h
	for h in registry.k8s.io k8s.gcr.io gcr.io docker.io quay.io ghcr.io public.ecr.aws _default; do
		mkdir -p "$DIR/certs.d/$h"
		local p=$h
		[ "$h" = _default ] && p=other
		# 1.6 needs a [host] table (without one it falls back upstream)
		cat >"$DIR/certs.d/$h/hosts.toml" <<T
server = "http://127.0.0.1:$REGPORT/v2/$p"
override_path = true

[host."http://127.0.0.1:$REGPORT/v2/$p"]
  capabilities = ["pull", "resolve"]
  override_path = true
T
	done

	# CNI: the bridge plugin with isGateway false neither turns on
	# ip_forward nor gives the bridge an address: start does that, so the
	# host (critest, crictl) reaches the pods.
	mkdir -p "$DIR/cni/net.d" "$DIR/cni/ipam"
	cat >"$DIR/cni/net.d/10-$CNINET.conflist" <<J
{
  "cniVersion": "1.0.0",
  "name": "$CNINET",
  "plugins": [
    {"type": "bridge", "bridge": "$BR", "isGateway": false, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$DIR/cni/ipam",
              "ranges": [[{"subnet": "$SUBNET.0/24", "gateway": "$SUBNET.1"}]], "routes": []}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
J
	cat >"$DIR/crictl.yaml" <<Y
runtime-endpoint: unix://$SOCK
image-endpoint: unix://$SOCK
timeout: 60
Y
}

# cri_host_setup: the host-side parts of CRI mode, before the daemon starts
# (the hostpaths mount must exist when its mount namespace is made).
cri_host_setup() {
	[ -x /usr/lib/cni/bridge ] || die "no CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)"
	command -v iptables >/dev/null || die "no iptables (apt-get install iptables)"
	[ -x "$RUNC_SHIM" ] || die "no runc shim at $RUNC_SHIM (test/e2e/tools.sh $VERSION)"
	ip link add "$BR" type bridge
	ip addr add "$SUBNET.1/24" dev "$BR"
	ip link set "$BR" up
	iptables -I FORWARD -i "$BR" ! -o "$BR" -j DROP
	iptables -I FORWARD -o "$BR" ! -i "$BR" -j DROP
	mkdir -p "$DIR/hostpaths"
	mount --bind "$DIR/hostpaths" "$DIR/hostpaths"
	mount --make-rshared "$DIR/hostpaths"
}

# cri_images: build (once) and import the sandbox and busybox images.
cri_images() {
	"$here/cri-images.sh" "$IMAGES" >/dev/null
	local p n
	p=$(pid)
	for n in pause busybox; do
		CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=1 \
			nsenter -t "$p" -m -- "$CTR" --address "$SOCK" -n k8s.io images import "$IMAGES/$n.tar" >/dev/null ||
			die "importing $IMAGES/$n.tar failed"
	done
}

# cri_host_undo: everything cri_host_setup and the CNI plugins left on the
# host; names are derived from $DIR, so this works without the folder.
cri_host_undo() {
	iptables -D FORWARD -i "$BR" ! -o "$BR" -j DROP 2>/dev/null || true
	iptables -D FORWARD -o "$BR" ! -i "$BR" -j DROP 2>/dev/null || true
	ip link del "$BR" 2>/dev/null || true
	# the portmap plugin's top-level nat chains stay after its last pod:
	# take them away only when no rule (ours or anyone's) is left in them
	if iptables -t nat -S CNI-HOSTPORT-DNAT >/dev/null 2>&1 &&
		[ "$(iptables -t nat -S CNI-HOSTPORT-DNAT | wc -l)" = 1 ]; then
		iptables -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null || true
		iptables -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT 2>/dev/null || true
		iptables -t nat -D POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ 2>/dev/null || true
		local c
		for c in CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK; do
			iptables -t nat -F "$c" 2>/dev/null || true
			iptables -t nat -X "$c" 2>/dev/null || true
		done
	fi
	# libcni's result cache is fixed at /var/lib/cni: our network's only
	rm -f /var/lib/cni/results/"$CNINET"-* 2>/dev/null || true
	# and containerd's loopback network results of this instance's pods
	# (left when a pod was not torn down through the CRI)
	local sb
	for sb in "$DIR"/root/io.containerd.grpc.v1.cri/sandboxes/*; do
		[ -d "$sb" ] && rm -f /var/lib/cni/results/cni-loopback-"${sb##*/}"-lo
	done
	rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
	if mountpoint -q "$DIR/hostpaths" 2>/dev/null; then
		umount -R "$DIR/hostpaths" 2>/dev/null || umount -l "$DIR/hostpaths" 2>/dev/null || true
	fi
	if [ -f "$DIR/registry.pid" ]; then
		local r
		r=$(cat "$DIR/registry.pid")
		# only our registry: its command line names our folder
		if [ -n "$r" ] && tr '\0' ' ' <"/proc/$r/cmdline" 2>/dev/null | grep -qF "$DIR/registry"; then
			kill "$r" 2>/dev/null || true
		fi
	fi
}

# registry: `crane registry serve` on 127.0.0.1:$REGPORT (blobs in
# $DIR/registry), then every image of cri-images.sh under each of its
# upstream names as <host>/<repo>:<tag>, the path the hosts.toml mirrors
# ask for. The first name is pushed, the others copied inside the registry
# (manifests only). stop kills it.
registry() {
	pid >/dev/null || die "containerd $VERSION is not running"
	[ -f "$DIR/cri" ] || die "containerd $VERSION runs without CRI (start it with SLRT_CRI=1)"
	[ -x "$CRANE" ] || die "no crane at $CRANE (test/e2e/tools.sh cri)"
	local reg=127.0.0.1:$REGPORT t0=${EPOCHREALTIME/./}
	if ! curl -fsS "http://$reg/v2/" >/dev/null 2>&1; then
		mkdir -p "$DIR/registry"
		"$CRANE" registry serve --address "$reg" --disk "$DIR/registry" </dev/null >"$DIR/registry.log" 2>&1 &
		echo $! >"$DIR/registry.pid"
		local i
		for i in $(seq 1 100); do
			curl -fsS "http://$reg/v2/" >/dev/null 2>&1 && break
			kill -0 "$(cat "$DIR/registry.pid")" 2>/dev/null || die "registry did not start: $(cat "$DIR/registry.log")"
			sleep 0.1
		done
	fi
	"$here/cri-images.sh" "$IMAGES" >/dev/null
	local name first r n=0
	while read -r name first rest; do
		"$CRANE" push --insecure "$IMAGES/oci/$name" "$reg/$first" >/dev/null 2>>"$DIR/registry.log" ||
			die "pushing $name as $first failed (see $DIR/registry.log)"
		for r in $rest; do
			"$CRANE" copy --insecure "$reg/$first" "$reg/$r" >/dev/null 2>>"$DIR/registry.log" ||
				die "copying $first to $r failed (see $DIR/registry.log)"
		done
		n=$((n + 1))
	done <"$IMAGES/images.txt"
	echo "registry $reg (pid $(cat "$DIR/registry.pid")): $n images in $(((${EPOCHREALTIME/./} - t0) / 1000))ms" >&2
}

start() {
	[ "$(id -u)" -eq 0 ] || die "run as root"
	if p=$(pid); then
		echo "containerd $VERSION already running (pid $p)" >&2
		return 0
	fi
	[ -x "$SHIM" ] || die "no shim at $SHIM (make shim)"
	# containerd 2.x refuses (by failing its task plugins, then every ctr
	# call) a shim socket folder longer than 42 characters.
	case $VERSION in
	1.6 | 1.6.* | 1.7 | 1.7.*) ;;
	*)
		local sd=$DIR/state/s
		[ ${#sd} -le 42 ] || die "SLRT_E2E_DIR $BASE is too long: containerd $VERSION's shim socket folder $sd would have ${#sd} characters, at most 42 work"
		;;
	esac
	bins build
	# Bad extra handlers fail before anything is made.
	if [ -n "${SLRT_CRI_HANDLERS:-}" ]; then
		[ "${SLRT_CRI:-0}" = 1 ] || die "SLRT_CRI_HANDLERS needs CRI mode (SLRT_CRI=1)"
		local e seen=" "
		for e in $SLRT_CRI_HANDLERS; do
			parse_handler "$e"
			case $seen in *" $H_NAME "*) die "SLRT_CRI_HANDLERS names $H_NAME twice" ;; esac
			seen="$seen$H_NAME "
		done
	fi
	# Leftovers of a run that was not stopped (killed machine, SIGKILL):
	# clean them first so start always begins from nothing.
	stop_quiet
	mkdir -p "$DIR/root" "$DIR/state" "$DIR/bin"
	ln -sf "$SHIM" "$DIR/bin/containerd-shim-slrt-v2"
	shared_cgroups_absent >"$DIR/cgroups-absent"
	if [ "${SLRT_CRI:-0}" = 1 ]; then
		touch "$DIR/cri"
		cri_host_setup
	fi
	write_config
	launch
	if [ -f "$DIR/cri" ]; then
		cri_images
		echo "containerd $VERSION: CRI on $SOCK (handlers $(handler_names)), crictl config $DIR/crictl.yaml" >&2
	fi
}

# launch [PID]: run the daemon in a new mount namespace with a private
# tmpfs on /run (propagation of the mount holding /run made private first
# so the tmpfs never shows on the host), or in the namespace of PID (a
# restart: the running shims' namespace). No proxy: nothing is pulled.
launch() {
	local t0=${EPOCHREALTIME/./} into=${1:-}
	local path="$DIR/bin:$(dirname "$CONTAINERD"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	# CRI mode pulls: should one ever miss the mirrors, it meets a dead
	# proxy instead of the network (Go never proxies loopback addresses).
	local proxy=()
	[ -f "$DIR/cri" ] && proxy=(HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost)
	if [ -n "$into" ]; then
		env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy PATH="$path" "${proxy[@]}" \
			SLRT_FGAC_POLICY="$FGAC_POLICY" SLRT_FGAC_SOCKET="$FGAC_SOCKET" \
			nsenter -t "$into" -m -- "$CONTAINERD" --config "$CFG" --log-level "${SLRT_CONTAINERD_LOG_LEVEL:-info}" \
			</dev/null >>"$LOG" 2>&1 &
	else
		env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy PATH="$path" "${proxy[@]}" \
			SLRT_FGAC_POLICY="$FGAC_POLICY" SLRT_FGAC_SOCKET="$FGAC_SOCKET" \
			unshare --mount --propagation unchanged sh -c \
			'mount --make-private "$(findmnt -n -o TARGET -T /run)" && mount -t tmpfs -o mode=755 slrt-e2e-run /run && mkdir -p /run/containerd && exec "$0" --config "$1" --log-level "${2:-info}"' \
			"$CONTAINERD" "$CFG" "${SLRT_CONTAINERD_LOG_LEVEL:-info}" </dev/null >"$LOG" 2>&1 &
	fi
	local p=$!
	echo "$p" >"$PIDFILE"
	for _ in $(seq 1 300); do
		kill -0 "$p" 2>/dev/null || break
		# the namespace is made once sh runs; record it for stop and ctr
		local ns
		ns=$(readlink "/proc/$p/ns/mnt" 2>/dev/null || true)
		if [ -n "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/mnt)" ] && [ -S "$SOCK" ] &&
			nsenter -t "$p" -m -- "$CTR" --address "$SOCK" version >/dev/null 2>&1; then
			echo "$ns" >"$DIR/mntns"
			local us=$((${EPOCHREALTIME/./} - t0))
			echo "containerd $VERSION up: pid $p, $((us / 1000))ms, socket $SOCK, log $LOG" >&2
			return 0
		fi
		sleep 0.1
	done
	echo "containerd $VERSION did not come up; $LOG:" >&2
	tail -30 "$LOG" >&2 || true
	kill "$p" 2>/dev/null || true
	return 1
}

# restart: stop the daemon only (SIGTERM; shims and containers keep
# running) and start it again in the same namespace, as after a containerd
# upgrade: it must find and reconnect to the running shims.
restart() {
	local p keep
	p=$(pid) || die "containerd $VERSION is not running"
	bins
	keep=$(in_ns | grep -vx "$p" | head -1 || true)
	kill "$p"
	for _ in $(seq 1 100); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$p" 2>/dev/null && die "containerd (pid $p) did not stop on SIGTERM"
	echo "containerd $VERSION stopped for a restart (pid $p)" >&2
	if [ -z "$keep" ] || ! kill -0 "$keep" 2>/dev/null; then
		launch
	else
		launch "$keep"
	fi
}

# descendants PID...: every process below the given ones (by ppid).
descendants() {
	# "pid ppid" of every process, from /proc (procps may be missing)
	local all f
	all=$(for f in /proc/[0-9]*/stat; do
		# the comm field may hold spaces: ppid is the 2nd field after ") "
		read -r line <"$f" 2>/dev/null || continue
		rest=${line##*) }
		set -- $rest
		echo "${line%% *} $2"
	done)
	local queue=("$@") out=() p c
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		for c in $(awk -v p="$p" '$2 == p {print $1}' <<<"$all"); do
			out+=("$c")
			queue+=("$c")
		done
	done
	echo "${out[@]}"
}

# in_ns: pids of processes in our containerd's mount namespace (the daemon,
# its shims, ctr runs).
in_ns() {
	local want p
	want=$(cat "$DIR/mntns" 2>/dev/null) || return 0
	[ -n "$want" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$want" ] && echo "${p#/proc/}"
	done
	return 0
}

stop_quiet() { stop >/dev/null 2>&1 || true; }

# Top-level cgroups that every instance on the host shares: containerd's
# default cgroup parent for CRI pods (/k8s.io) and the engine's for
# containers without a cgroupsPath (/slrt).
SHARED_CGROUPS="k8s.io slrt"

# cgroup_roots: the root of every mounted cgroup hierarchy (v1 controllers,
# named ones, the hybrid host's unified v2, or a unified host's single one),
# each once (cpu and cpuacct are links to one folder).
cgroup_roots() {
	if [ -f /sys/fs/cgroup/cgroup.procs ]; then
		echo /sys/fs/cgroup # unified: its folders are cgroups, not hierarchies
		return
	fi
	local r
	for r in /sys/fs/cgroup/*/; do
		[ -f "$r/cgroup.procs" ] && realpath "$r"
	done | sort -u
}

# shared_cgroups_absent: the shared cgroups that do not exist yet, one
# path a line: start records them so that stop removes only those this
# instance may have caused to exist.
shared_cgroups_absent() {
	local r n
	for r in $(cgroup_roots); do
		for n in $SHARED_CGROUPS; do
			[ -e "$r/$n" ] || echo "$r/$n"
		done
	done
}

# other_instances: pids of containerd daemons other than ours (any
# containerd: another instance of this script, k8s.sh's, the host's).
other_instances() {
	local p exe own
	own=$(cat "$PIDFILE" 2>/dev/null || true)
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		exe=${exe% (deleted)}
		[ "${exe##*/}" = containerd ] && [ "${p#/proc/}" != "$own" ] && echo "${p#/proc/}"
	done
	return 0
}

# remove_shared_cgroups: stop's last step. The shared cgroups this instance
# found absent at start are removed when they are empty (rmdir refuses a
# cgroup with processes or children) and no other containerd runs: one
# could be creating a pod under /k8s.io right now, and an rmdir between its
# mkdir of the parent and of the pod's cgroup would fail its create.
remove_shared_cgroups() {
	[ -s "$DIR/cgroups-absent" ] || return 0
	local others
	others=$(other_instances)
	if [ -n "$others" ]; then
		echo "containerd.sh: other containerd daemons run ($(echo $others)): shared cgroups kept" >&2
		return 0
	fi
	local cg
	while read -r cg; do
		case $cg in /sys/fs/cgroup/*) ;; *) continue ;; esac
		[ -d "$cg" ] && rmdir "$cg" 2>/dev/null || true
	done <"$DIR/cgroups-absent"
}

stop() {
	local p
	if p=$(pid); then
		bins
		local c=(nsenter -t "$p" -m -- "$CTR" --address "$SOCK")
		# CRI pods through the CRI first: that runs the CNI DEL (IPAM
		# lease, portmap rules) the ctr path below would skip.
		if [ -f "$DIR/cri" ] && [ -x "$CRI_TOOLS/crictl" ]; then
			local cc=("$CRI_TOOLS/crictl" --config "$DIR/crictl.yaml" -t 20s) pod
			for pod in $("${cc[@]}" pods -q 2>/dev/null); do
				"${cc[@]}" stopp "$pod" >/dev/null 2>&1 || true
				"${cc[@]}" rmp -f "$pod" >/dev/null 2>&1 || true
			done
		fi
		# Tasks and containers of every namespace first, through the shim
		# (this is the path that removes their cgroups and rootfs mounts).
		local n id
		for n in $("${c[@]}" namespaces ls -q 2>/dev/null); do
			for id in $("${c[@]}" -n "$n" tasks ls -q 2>/dev/null); do
				"${c[@]}" -n "$n" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
			done
			for id in $("${c[@]}" -n "$n" tasks ls -q 2>/dev/null); do
				timeout 10 "${c[@]}" -n "$n" tasks delete -f "$id" >/dev/null 2>&1 || true
			done
			for id in $("${c[@]}" -n "$n" containers ls -q 2>/dev/null); do
				"${c[@]}" -n "$n" containers delete "$id" >/dev/null 2>&1 || true
			done
		done
		kill "$p"
		for _ in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
		echo "containerd $VERSION stopped (pid $p)" >&2
	fi
	# Shims (and anything else) still in the namespace, and what they
	# started (containers have their own mount namespace): by pid.
	local left
	left=$(in_ns)
	if [ -n "$left" ]; then
		# shellcheck disable=SC2046
		local all=($left $(descendants $left))
		echo "containerd.sh: killing leftover processes: ${all[*]}" >&2
		kill -9 "${all[@]}" 2>/dev/null || true
		for _ in $(seq 1 50); do
			[ -z "$(in_ns)" ] && break
			sleep 0.1
		done
	fi
	if [ -n "$(in_ns)" ]; then
		# Undo the host-side changes anyway (bridge, iptables, mounts on
		# the host, CNI cache); the folder stays for a look.
		cri_host_undo
		die "processes still in the namespace: $(in_ns) (kept $DIR)"
	fi
	# The namespace is gone with its last process: its /run tmpfs, the
	# snapshot and rootfs mounts with it. Mounts on the host side would only
	# come from a shim run outside the namespace: undo them too.
	if [ -d "$DIR" ]; then
		{ grep -oE " $DIR/[^ ]+" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	fi
	# cgroups the engine made for the namespace's containers (empty ones
	# only: rmdir fails on a busy cgroup).
	local cg
	# (The shared /k8s.io and /slrt are remove_shared_cgroups' below: each
	# pod's shim removes its own cgroups under them.)
	for cg in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/unified/"$NS" /sys/fs/cgroup/"$NS"; do
		[ -d "$cg" ] || continue
		find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
	remove_shared_cgroups
	cri_host_undo
	# Keep the daemon's last log (with the shims' stderr) for a look after.
	[ -f "$LOG" ] && mv "$LOG" "${TMPDIR:-/tmp}/slrt-e2e-containerd-$VERSION.log"
	rm -rf "$DIR"
	rmdir "$BASE" 2>/dev/null || true
}

case ${1:-} in
start) start ;;
stop) stop ;;
restart) restart ;;
status) pid >/dev/null ;;
ctr)
	shift
	p=$(pid) || die "containerd $VERSION is not running (test/e2e/containerd.sh start)"
	bins
	# --wd: entering a mount namespace moves the cwd to its root; keep ours
	# (relative paths such as `images import build/...`). The deprecation
	# warning ctr prints on every call is about this host's cgroup v1.
	CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=${CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS:-1} \
		exec nsenter -t "$p" -m --wd="$PWD" -- "$CTR" --address "$SOCK" --namespace "$NS" "$@"
	;;
crictl)
	shift
	pid >/dev/null || die "containerd $VERSION is not running (SLRT_CRI=1 test/e2e/containerd.sh start)"
	[ -f "$DIR/cri" ] || die "containerd $VERSION runs without CRI (start it with SLRT_CRI=1)"
	[ -x "$CRI_TOOLS/crictl" ] || die "no crictl (test/e2e/tools.sh cri)"
	exec "$CRI_TOOLS/crictl" --config "$DIR/crictl.yaml" "$@"
	;;
registry) registry ;;
env)
	bins 2>/dev/null || true
	printf 'SLRT_CONTAINERD=%q\nCONTAINERD=%q\nCTR=%q\nDIR=%q\nSOCK=%q\nLOG=%q\nNS=%q\nSHIM=%q\n' \
		"$VERSION" "${CONTAINERD:-}" "${CTR:-}" "$DIR" "$SOCK" "$LOG" "$NS" "$SHIM"
	printf 'CRI=%q\nCRICTL=%q\nCRICTL_CONFIG=%q\nCRITEST=%q\nGINKGO_DIR=%q\nHOSTPATHS=%q\nCNI_BRIDGE=%q\nCNI_SUBNET=%q\nREGISTRY=%q\nIMAGES=%q\n' \
		"$([ -f "$DIR/cri" ] && echo 1 || echo 0)" "$CRI_TOOLS/crictl" "$DIR/crictl.yaml" "$CRI_TOOLS/critest" "$CRI_TOOLS" \
		"$DIR/hostpaths" "$BR" "$SUBNET.0/24" "127.0.0.1:$REGPORT" "$IMAGES"
	printf 'FGAC_POLICY=%q\nFGAC_SOCKET=%q\n' "$FGAC_POLICY" "$FGAC_SOCKET"
	printf 'NRI_SOCKET=%q\n' "$([ -S "$DIR/nri/nri.sock" ] && echo "$DIR/nri/nri.sock")"
	;;
*)
	echo "usage: $0 start|stop|restart|status|ctr ARGS...|crictl ARGS...|registry|env" >&2
	exit 2
	;;
esac
