#!/usr/bin/env bash
# test/e2e/containerd.sh — a private containerd for `make demo` and the e2e
# tests, with the runtime io.containerd.slrt.v2 (build/containerd-shim-slrt-v2).
#
#   test/e2e/containerd.sh start        start it (no-op when it runs)
#   test/e2e/containerd.sh stop         stop it and undo everything start did
#   test/e2e/containerd.sh restart      restart the daemon only (shims keep running)
#   test/e2e/containerd.sh ctr ARGS...  run ctr against it (see below)
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
#   SLRT_NAMESPACE   containerd namespace ctr uses (default slrt-e2e)
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
# ${TMPDIR:-/tmp}/slrt-e2e-containerd-<version>.log.
#
# The CRI plugin is disabled (ctr only); its runtime entry `sl` with
# runtime_path is written already, for the CRI tests (issue 5).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
VERSION=${SLRT_CONTAINERD:-2.4.2}
VERSION=${VERSION#v}
BASE=${SLRT_E2E_DIR:-/tmp/slrt-e2e}
DIR=$BASE/$VERSION
SHIM=${SLRT_SHIM:-$repo/build/containerd-shim-slrt-v2}
NS=${SLRT_NAMESPACE:-slrt-e2e}
SOCK=$DIR/containerd.sock
PIDFILE=$DIR/containerd.pid
LOG=$DIR/containerd.log
CFG=$DIR/config.toml

die() {
	echo "containerd.sh: $*" >&2
	exit 1
}

# bins sets CONTAINERD and CTR for $VERSION.
bins() {
	case $VERSION in
	*)
		local d=${SLRT_TOOLS:-$HOME/.cache/slrt/tools}/containerd-$VERSION
		CONTAINERD=$d/containerd CTR=$d/ctr
		if [ ! -f "$d/.done" ]; then
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
	local cri_rt
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

start() {
	[ "$(id -u)" -eq 0 ] || die "run as root"
	if p=$(pid); then
		echo "containerd $VERSION already running (pid $p)" >&2
		return 0
	fi
	[ -x "$SHIM" ] || die "no shim at $SHIM (make shim)"
	bins build
	# Leftovers of a run that was not stopped (killed machine, SIGKILL):
	# clean them first so start always begins from nothing.
	stop_quiet
	mkdir -p "$DIR/root" "$DIR/state" "$DIR/bin"
	ln -sf "$SHIM" "$DIR/bin/containerd-shim-slrt-v2"
	write_config
	launch
}

# launch [PID]: run the daemon in a new mount namespace with a private
# tmpfs on /run (propagation of the mount holding /run made private first
# so the tmpfs never shows on the host), or in the namespace of PID (a
# restart: the running shims' namespace). No proxy: nothing is pulled.
launch() {
	local t0=${EPOCHREALTIME/./} into=${1:-}
	local path="$DIR/bin:$(dirname "$CONTAINERD"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if [ -n "$into" ]; then
		env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy PATH="$path" \
			nsenter -t "$into" -m -- "$CONTAINERD" --config "$CFG" --log-level "${SLRT_CONTAINERD_LOG_LEVEL:-info}" \
			</dev/null >>"$LOG" 2>&1 &
	else
		env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy PATH="$path" \
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

stop() {
	local p
	if p=$(pid); then
		bins
		local c=(nsenter -t "$p" -m -- "$CTR" --address "$SOCK")
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
	[ -z "$(in_ns)" ] || die "processes still in the namespace: $(in_ns)"
	# The namespace is gone with its last process: its /run tmpfs, the
	# snapshot and rootfs mounts with it. Mounts on the host side would only
	# come from a shim run outside the namespace: undo them too.
	if [ -d "$DIR" ]; then
		{ grep -oE " $DIR/[^ ]+" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	fi
	# cgroups the engine made for the namespace's containers (empty ones
	# only: rmdir fails on a busy cgroup).
	local cg
	for cg in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/unified/"$NS" /sys/fs/cgroup/"$NS"; do
		[ -d "$cg" ] || continue
		find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
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
env)
	bins 2>/dev/null || true
	printf 'SLRT_CONTAINERD=%q\nCONTAINERD=%q\nCTR=%q\nDIR=%q\nSOCK=%q\nLOG=%q\nNS=%q\nSHIM=%q\n' \
		"$VERSION" "${CONTAINERD:-}" "${CTR:-}" "$DIR" "$SOCK" "$LOG" "$NS" "$SHIM"
	;;
*)
	echo "usage: $0 start|stop|restart|status|ctr ARGS...|env" >&2
	exit 2
	;;
esac
