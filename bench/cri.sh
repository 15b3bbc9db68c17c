#!/bin/bash
# bench/cri.sh OUT RUNS — the CRI level of bench/bench.sh (which runs it
# inside its private mount namespace), or on its own as root after
# `make shim` (it then builds what it needs into $BIN, default build/bench).
#
# Starts a private containerd 2.4.2 in CRI mode (test/e2e/containerd.sh
# with SLRT_CRI=1, in its own folder $SLRT_BENCH_CRI_DIR, default
# /tmp/slrt-cribench: never the e2e tests' or the host's; handlers sl and
# runc, the busybox image imported offline), runs bench/cri against its CRI
# socket for RUNS rounds of pods (sl, sl with slrt.io/fast-start, runc,
# interleaved) and stops the daemon, which removes every pod, cgroup,
# network leftover and the folder. containerd and its runc shim come from
# test/e2e/tools.sh's cache (built there when missing: ~5-15 min once).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 OUT RUNS" >&2; exit 2; }
OUT=$(realpath -m "$1") RUNS=$2
BIN=$(realpath -m "${BIN:-build/bench}")
export SLRT_CONTAINERD=2.4.2 SLRT_CRI=1
export SLRT_E2E_DIR=${SLRT_BENCH_CRI_DIR:-/tmp/slrt-cribench}
export SLRT_SHIM=$BIN/containerd-shim-slrt-v2
c=test/e2e/containerd.sh

# On its own (bench.sh did not build them): fresh private copies, so a
# rebuild of build/ by someone else mid-run does not change what is
# measured.
if [ -z "${SLRT_BENCH_NS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "$0: run as root" >&2; exit 1; }
	mkdir -p "$BIN"
	cp build/containerd-shim-slrt-v2 "$SLRT_SHIM"
	go build -o "$BIN/cri" ./bench/cri
fi

trap '"$c" stop >/dev/null 2>&1 || true' EXIT
"$c" start
eval "$("$c" env)"
# The pods' log folders: under the instance folder, which stop removes
# (a folder made after start is seen by the daemon; a mount would not be).
"$BIN/cri" -address "$SOCK" -runs "$RUNS" -logs "$DIR/bench-logs" -handlers sl,runc -fast-start 2 \
	-containerd-version "$("$CONTAINERD" --version | awk '{print $3}')" -out "$OUT"
