#!/bin/bash
# bench/cri.sh OUT RUNS — the CRI level of bench/bench.sh (which runs it
# inside its private mount namespace), or on its own as root after
# `make shim` (it then builds what it needs into $BIN, by default a folder
# of its own under build/, removed at the end).
#
# Starts a private containerd 2.4.2 in CRI mode (test/e2e/containerd.sh
# with SLRT_CRI=1, in its own folder $SLRT_BENCH_CRI_DIR, by default one
# per run, /tmp/slrt-bcri.<run>: never the e2e tests' or the host's; handlers sl and
# runc, the busybox image imported offline), runs bench/cri against its CRI
# socket for RUNS rounds of pods (sl, sl with slrt.io/fast-start, runc,
# and crun when it can run: below; interleaved) and stops the daemon, which
# removes every pod, cgroup, network leftover and the folder. containerd
# and its runc shim come from test/e2e/tools.sh's cache (built there when
# missing: ~5-15 min once).
#
# crun: a third handler, `crun`, the same runc shim with BinaryName
# $BIN/crun-oci10 (crun 1.8.1 refuses containerd 2.x's ociVersion; see
# bench/crun-oci10), given to containerd.sh as an extra handler
# (SLRT_CRI_HANDLERS). Only where crun 1.8.1 runs at all: a hybrid host
# needs an empty cgroup.controllers, which bench.sh's mount namespace
# provides; SLRT_BENCH_CRI_CRUN=0 leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 OUT RUNS" >&2; exit 2; }
OUT=$(realpath -m "$1") RUNS=$2
export SLRT_CONTAINERD=2.4.2 SLRT_CRI=1
c=test/e2e/containerd.sh

# On its own (bench.sh did not build them): fresh private copies in a
# folder of this run's, so a rebuild of build/ by someone else mid-run does
# not change what is measured and two runs do not collide.
cleanup=()
if [ -z "${SLRT_BENCH_NS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "$0: run as root" >&2; exit 1; }
	if [ -z "${BIN:-}" ]; then
		mkdir -p build
		BIN=$(mktemp -d "$PWD/build/bench.XXXXXX")
		cleanup+=("$BIN")
	fi
	mkdir -p "$BIN"
	cp build/containerd-shim-slrt-v2 "$BIN/containerd-shim-slrt-v2"
	go build -o "$BIN/cri" ./bench/cri
fi
BIN=$(realpath -m "${BIN:-build/bench}")
export SLRT_SHIM=$BIN/containerd-shim-slrt-v2
# a folder of this run's (short: see ctrd.sh)
run=${BIN##*/}
export SLRT_E2E_DIR=${SLRT_BENCH_CRI_DIR:-/tmp/slrt-bcri.${run#bench.}}

handlers=sl,runc
controllers=/sys/fs/cgroup/unified/cgroup.controllers
if [ "${SLRT_BENCH_CRI_CRUN:-1}" = 1 ]; then
	if [ ! -x "$BIN/crun-oci10" ] || ! command -v crun >/dev/null; then
		echo "bench/cri.sh: no crun handler: crun or $BIN/crun-oci10 missing" >&2
	elif [ -r "$controllers" ] && grep -q . "$controllers"; then
		echo "bench/cri.sh: no crun handler: crun 1.8.1 refuses this hybrid host outside bench.sh's namespace" >&2
	else
		export SLRT_CRI_HANDLERS="${SLRT_CRI_HANDLERS:+$SLRT_CRI_HANDLERS }crun=io.containerd.runc.v2::$BIN/crun-oci10"
		handlers=sl,runc,crun
	fi
fi

trap '"$c" stop >/dev/null 2>&1 || true; rm -rf "${cleanup[@]}"' EXIT
"$c" start
eval "$("$c" env)"
# The loopback registry serves the stamp image of bench/cri's
# first-instruction pods, which it pulls through the CRI; without crane
# (test/e2e/tools.sh cri) those pods are left out, the rest is measured.
stamp=ghcr.io/slrt/stamp:1
if ! "$c" registry; then
	echo "bench/cri.sh: no loopback registry: no first-instruction pods" >&2
	stamp=
fi
# The pods' log folders: under the instance folder, which stop removes
# (a folder made after start is seen by the daemon; a mount would not be).
"$BIN/cri" -address "$SOCK" -runs "$RUNS" -logs "$DIR/bench-logs" -handlers "$handlers" -fast-start 2 -stamp-image "$stamp" \
	-containerd-version "$("$CONTAINERD" --version | awk '{print $3}')" -out "$OUT"
