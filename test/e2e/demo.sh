#!/usr/bin/env bash
# test/e2e/demo.sh — `make demo`: one container run THROUGH CONTAINERD with
# slrt. Builds (or reuses) containerd + ctr, starts a private containerd
# (test/e2e/containerd.sh), imports the bundled busybox image, runs
#
#   ctr run --rm --runtime io.containerd.slrt.v2 localhost/slrt/busybox:latest demo sh -c '...'
#
# prints its output, stops containerd (undoing everything) and exits with
# the container's exit code. Needs build/containerd-shim-slrt-v2 and
# build/busybox/busybox-oci.tar (make shim image).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
image=localhost/slrt/busybox:latest
tar=${SLRT_IMAGE_TAR:-$repo/build/busybox/busybox-oci.tar}
t0=${EPOCHREALTIME/./}
ms() { echo $(((${EPOCHREALTIME/./} - $1) / 1000)); }

# containerd + ctr: built once (several minutes), then cached.
"$here/tools.sh" "${SLRT_CONTAINERD:-2.4.2}" >/dev/null

# Its own folder and namespace: a `make e2e` running beside it keeps its
# daemon.
export SLRT_E2E_DIR=${SLRT_E2E_DIR:-/tmp/slrt-demo} SLRT_NAMESPACE=${SLRT_NAMESPACE:-slrt-demo}
c="$here/containerd.sh"
trap '"$c" stop' EXIT
"$c" start
"$c" ctr images import "$tar" >/dev/null
"$c" ctr images ls -q | grep -qx "$image" || {
	echo "demo: $image not in containerd after import" >&2
	exit 1
}

echo "--- ctr run --rm --runtime io.containerd.slrt.v2 $image demo ..."
t1=${EPOCHREALTIME/./}
set +e
"$c" ctr run --rm --runtime io.containerd.slrt.v2 "$image" demo \
	sh -c 'echo hello from slrt through containerd; grep PRETTY_NAME /etc/os-release || head -1 /etc/os-release; id; echo "pid $$, hostname $(hostname), cgroup $(cut -d: -f3 /proc/self/cgroup | sort -u | tr "\n" " ")"'
rc=$?
set -e
echo "--- container exited with $rc (ctr run: $(ms "$t1") ms; demo total: $(ms "$t0") ms)"
exit $rc
