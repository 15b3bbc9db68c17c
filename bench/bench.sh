#!/bin/bash
# Benchmarks slrt side by side with runc and crun and writes REPORT.md and
# PNG plots (see bench/README.md). Run as root from the repository root,
# after `make build image` (the Makefile's bench targets do both).
#
#   bench/bench.sh           full run: 20 rounds, results in bench/results/
#   bench/bench.sh --smoke   ~1 minute, 3 rounds, results in build/bench-smoke/
#
# Each run builds its drivers into a folder of its own (build/bench.XXXXXX,
# or $BIN when given) and its private containerd daemons get folders of
# their own too, so two runs at once (a smoke beside a full run, two
# engineers) never overwrite each other's binaries or daemons; the folders
# are removed when the run ends. Only OUT is shared when two runs name the
# same one.
#
# Fails only on errors (a runtime that cannot run the bundle, state left
# behind); timings are reported, never asserted: the machines are shared.
#
# Everything runs in one private mount namespace: crun 1.8.1 refuses hybrid
# cgroup hosts unless /sys/fs/cgroup/unified/cgroup.controllers reads empty,
# so an empty file is bind-mounted over it there, and every runtime is
# measured inside that same namespace (it costs runc nothing measurable:
# see ../shared/reference/peer-baseline.md). State roots go on a tmpfs
# mounted there too, because /run is not always one.
#
# The containerd level (bench/ctrd.sh: `ctr run --rm` with
# io.containerd.slrt.v2 vs io.containerd.runc.v2 with runc and with crun,
# shim RSS/PSS with 1 and 10 pods) runs a private containerd 2.4.2 from
# test/e2e/tools.sh's cache: a full run builds it when missing (~5-15 min
# once), the smoke skips it then. SLRT_BENCH_CTRD=0 skips it always.
# The CRI level (bench/cri.sh: RunPodSandbox and CreateContainer+
# StartContainer p50/p99 and restart after a crash, handlers sl, sl with
# slrt.io/fast-start, runc and crun, interleaved pod by pod) runs a private
# CRI-mode containerd 2.4.2 likewise; SLRT_BENCH_CRI=0 skips it, the smoke
# skips it when containerd 2.4.2 or its runc shim is not built.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
case "${1:-}" in
--smoke) mode=smoke ;;
"") ;;
*) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

if [ "$mode" = smoke ]; then
	RUNS=${RUNS:-3} ENGINE_RUNS=${ENGINE_RUNS:-5} IO_RUNS=${IO_RUNS:-2} PARKED=${PARKED:-3}
	CTRD_RUNS=${CTRD_RUNS:-3} PODS=${PODS:-1,2} CRI_RUNS=${CRI_RUNS:-2} CTRD_EXECS=${CTRD_EXECS:-3}
	OUT=${OUT:-build/bench-smoke}
else
	RUNS=${RUNS:-20} ENGINE_RUNS=${ENGINE_RUNS:-60} IO_RUNS=${IO_RUNS:-5} PARKED=${PARKED:-10}
	CTRD_RUNS=${CTRD_RUNS:-20} PODS=${PODS:-1,10} CRI_RUNS=${CRI_RUNS:-30} CTRD_EXECS=${CTRD_EXECS:-50}
	OUT=${OUT:-bench/results}
fi
export CTRD_RUNS PODS CRI_RUNS CTRD_EXECS

if [ -z "${SLRT_BENCH_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "$0: run as root (it creates containers and mounts)" >&2
		exit 1
	fi
	for t in runc crun unshare; do
		command -v "$t" >/dev/null || { echo "$0: $t not found (apt-get install $t)" >&2; exit 1; }
	done
	# Plots need gnuplot: installed for a full run, optional for the smoke.
	if ! command -v gnuplot >/dev/null && [ "$mode" = full ]; then
		echo "installing gnuplot-nox for the plots"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null ||
			echo "$0: gnuplot-nox not installed: no plots" >&2
	fi
	# This run's own folder for the drivers and private copies of the
	# binaries (others may rebuild build/slrt while this runs, and the
	# report must describe one binary). Removed at the end by the run inside
	# the namespace; until the exec below, by this trap.
	if [ -z "${BIN:-}" ]; then
		mkdir -p build
		BIN=$(mktemp -d "$PWD/build/bench.XXXXXX")
		SLRT_BENCH_OWN_BIN=1
		trap 'rm -rf "$BIN"' EXIT
	fi
	mkdir -p "$BIN"
	# (ctrd.sh and cri.sh name their private containerd folders and
	# namespace after it: per run too.)
	BIN=$(realpath "$BIN")
	cp build/slrt "$BIN/slrt"
	cp runtime/inithelper/bin/slrt-init "$BIN/slrt-init"
	for d in oci engine fastart report; do
		go build -o "$BIN/$d" "./bench/$d"
	done
	SLRT_BENCH_CTRD=${SLRT_BENCH_CTRD:-1}
	if [ "$SLRT_BENCH_CTRD" = 1 ] && [ "$mode" = smoke ] && [ ! -f "${SLRT_TOOLS:-$HOME/.cache/slrt/tools}/containerd-2.4.2/.done" ]; then
		echo "$0: containerd 2.4.2 not built (test/e2e/tools.sh 2.4.2): no containerd level in the smoke" >&2
		SLRT_BENCH_CTRD=0
	fi
	if [ "$SLRT_BENCH_CTRD" = 1 ]; then
		cp build/containerd-shim-slrt-v2 "$BIN/containerd-shim-slrt-v2"
		go build -o "$BIN/ctrd" ./bench/ctrd
		${CC:-cc} -O2 -static -Wall -Wextra -Werror -s -o "$BIN/crun-oci10" bench/crun-oci10/crun-oci10.c
	fi
	SLRT_BENCH_CRI=${SLRT_BENCH_CRI:-1}
	ctrd_dir=${SLRT_TOOLS:-$HOME/.cache/slrt/tools}/containerd-2.4.2
	if [ "$SLRT_BENCH_CRI" = 1 ] && [ "$mode" = smoke ] && { [ ! -f "$ctrd_dir/.done" ] || [ ! -x "$ctrd_dir/containerd-shim-runc-v2" ]; }; then
		echo "$0: containerd 2.4.2 or its runc shim not built (test/e2e/tools.sh 2.4.2): no CRI level in the smoke" >&2
		SLRT_BENCH_CRI=0
	fi
	if [ "$SLRT_BENCH_CRI" = 1 ]; then
		cp build/containerd-shim-slrt-v2 "$BIN/containerd-shim-slrt-v2"
		go build -o "$BIN/cri" ./bench/cri
		${CC:-cc} -O2 -static -Wall -Wextra -Werror -s -o "$BIN/crun-oci10" bench/crun-oci10/crun-oci10.c
	fi
	export SLRT_BENCH_CTRD SLRT_BENCH_CRI BIN SLRT_BENCH_OWN_BIN
	exec unshare --mount --propagation private env SLRT_BENCH_NS=1 "$0" "$@"
fi

# Inside the private mount namespace: its mounts vanish with it.
scratch=$(mktemp -d /tmp/slrt-bench.XXXXXX)
disk=/var/lib/slrt-bench.$$
cleanup() {
	umount "$scratch" 2>/dev/null || true
	rmdir "$scratch" 2>/dev/null || true
	rm -rf "$disk"
	if [ "${SLRT_BENCH_OWN_BIN:-}" = 1 ]; then
		rm -rf "$BIN"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mount -t tmpfs -o size=256m,mode=0711 tmpfs "$scratch"
controllers=/sys/fs/cgroup/unified/cgroup.controllers
if [ -r "$controllers" ] && grep -q . "$controllers"; then
	: >"$scratch/empty"
	mount --bind "$scratch/empty" "$controllers"
fi
mkdir -p "$OUT" "$disk"

echo "bench ($mode): $(uptime)"
"$BIN/oci" -runs "$RUNS" -io-runs "$IO_RUNS" -parked "$PARKED" -scratch "$scratch/oci" \
	-disk-root "$disk" -slrt "$BIN/slrt" -init "$BIN/slrt-init" -out "$OUT"
"$BIN/engine" -runs "$ENGINE_RUNS" -root "$scratch/engine" -bundle "$scratch/oci/bundle" -out "$OUT"
"$BIN/fastart" -runs "$ENGINE_RUNS" -parked "$PARKED" -root "$scratch/fastart" -bundle "$scratch/oci/bundle" -out "$OUT"
rm -f "$OUT/ctrd.json" # the report shows the containerd level only when this run measured it
if [ "$SLRT_BENCH_CTRD" = 1 ]; then
	BIN=$BIN bench/ctrd.sh "$OUT" "$CTRD_RUNS" "$PODS"
fi
rm -f "$OUT/cri.json" # likewise for the CRI level
if [ "$SLRT_BENCH_CRI" = 1 ]; then
	BIN=$BIN bench/cri.sh "$OUT" "$CRI_RUNS"
fi
# Without gnuplot the PNGs already in OUT stay (the committed ones in
# bench/results) and the report says they are not this run's.
plots=true
command -v gnuplot >/dev/null || plots=false
"$BIN/report" -in "$OUT" -commit "$(git describe --always --dirty 2>/dev/null || echo unknown)" -mode "$mode" -plots="$plots"
if [ "$plots" = true ]; then
	gnuplot -e "dir='$OUT'" bench/plot.gp
else
	echo "gnuplot not found: plots not regenerated (the PNGs in $OUT are from an earlier run)" >&2
fi
echo "bench ($mode): $(uptime)"
echo "report: $OUT/REPORT.md"
