#!/bin/bash
# bench/ctrd.sh OUT RUNS PODS — the containerd level of bench/bench.sh,
# which runs it inside its private mount namespace (so crun, behind the
# runc shim, sees the same masked cgroup.controllers as in bench/oci).
#
# Starts a private containerd 2.4.2 (test/e2e/containerd.sh, in its own
# folder $SLRT_BENCH_CTRD_DIR, by default one named after $BIN, never the e2e
# tests' or the host's), imports the busybox image, runs bench/ctrd inside
# the daemon's mount namespace (ctr's fifos and the shims live there) and
# stops the daemon again, which removes everything it made. containerd and
# its runc shim (same version) come from test/e2e/tools.sh's cache.
#
# SLRT_BENCH_SHIM_B=PATH adds a second slrt shim, another build, measured
# beside $BIN's in the same run (label "slrt-b": latency and memory), for
# an A/B of a change to the shim. CTRD_PEERS (runc,crun) picks the runc
# shim's OCI runtimes (crun runs only inside bench.sh's namespace on hybrid
# hosts); CTRD_EXECS (50) the execs run into one pod before its shim is
# measured again.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "$1") RUNS=$2 PODS=$3
BIN=$(realpath "${BIN:-build/bench}") # absolute: nsenter keeps no working directory
for b in ctrd containerd-shim-slrt-v2 crun-oci10; do
	[ -x "$BIN/$b" ] || { echo "$0: no $BIN/$b: run through bench/bench.sh, which builds it" >&2; exit 1; }
done
VERSION=2.4.2
export SLRT_CONTAINERD=$VERSION
# A folder per run by default (bench.sh's BIN is one), so two runs never
# share a daemon (short: containerd 2.x refuses a shim socket folder
# longer than 42 characters), nor a namespace: containers' cgroups are
# /<namespace>/<id>.
run=${BIN##*/}
run=${run#bench.}
export SLRT_E2E_DIR=${SLRT_BENCH_CTRD_DIR:-/tmp/slrt-bc.$run}
export SLRT_NAMESPACE=slrt-bench-${run//./-}
export SLRT_SHIM=$BIN/containerd-shim-slrt-v2
c=test/e2e/containerd.sh

trap '"$c" stop >/dev/null 2>&1 || true' EXIT
"$c" start
eval "$("$c" env)"
"$c" ctr images import build/busybox/busybox-oci.tar >/dev/null
pid=$(cat "$DIR/containerd.pid")
nsenter -t "$pid" -m -- "$BIN/ctrd" -address "$SOCK" -ctr "$CTR" -namespace "$SLRT_NAMESPACE" \
	-runs "$RUNS" -pods "$PODS" -slrt-shim "$SLRT_SHIM" -runc-shim "$(dirname "$CTR")/containerd-shim-runc-v2" \
	-crun-wrapper "$BIN/crun-oci10" -containerd-version "$("$CONTAINERD" --version | awk '{print $3}')" \
	-peers "${CTRD_PEERS:-runc,crun}" -execs "${CTRD_EXECS:-50}" ${SLRT_BENCH_SHIM_B:+-slrt-shim-b "$(realpath "$SLRT_BENCH_SHIM_B")"} \
	-out "$OUT"
