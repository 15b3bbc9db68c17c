#!/usr/bin/env bash
# test/e2e/kind/run.sh — slrt in a kind cluster, for machines with Docker
# and internet access (kind pulls its node image, the pod pulls busybox).
# It cannot run on the project's CI machine (no Docker, no internet).
#
#   1. builds the shim (make shim: static, runs in any node image);
#   2. creates the cluster of cluster.yaml (handler sl in the node's
#      containerd config) and copies the shim to its runtime_path;
#   3. applies RuntimeClass sl and a pod using it, waits until it runs;
#   4. checks it ran under slrt: the pod's log, the sandbox's runtime type
#      in crictl inspectp, a containerd-shim-slrt-v2 process in the node, the
#      slrt.io/* annotation in the sandbox's bundle;
#   5. deletes the cluster (KEEP=1 keeps it).
#
# Needs kind, kubectl and docker on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
name=slrt
node=$name-control-plane
for t in kind kubectl docker; do
	command -v "$t" >/dev/null || { echo "run.sh: $t not found" >&2; exit 1; }
done

make -C "$repo" shim
kind create cluster --config "$here/cluster.yaml" --wait 120s
[ "${KEEP:-0}" = 1 ] || trap 'kind delete cluster --name "$name"' EXIT
ctx=kind-$name
docker cp "$repo/build/containerd-shim-slrt-v2" "$node:/usr/local/bin/containerd-shim-slrt-v2"

kubectl --context "$ctx" apply -f "$here/manifests.yaml"
kubectl --context "$ctx" wait --for=condition=Ready pod/slrt-hello --timeout=180s

fail() {
	echo "run.sh: FAIL: $*" >&2
	kubectl --context "$ctx" describe pod slrt-hello >&2 || true
	exit 1
}
kubectl --context "$ctx" logs slrt-hello | grep -qx 'hello from slrt' || fail "no hello in the pod's log"
pod=$(docker exec "$node" crictl pods --name slrt-hello -q | head -1)
[ -n "$pod" ] || fail "crictl sees no sandbox for slrt-hello"
docker exec "$node" crictl inspectp "$pod" | grep -q '"runtimeType": "io.containerd.slrt.v2"' ||
	fail "sandbox $pod does not run under io.containerd.slrt.v2"
docker exec "$node" sh -c "ps -eo args | grep -v grep | grep -q 'containerd-shim-slrt-v2 .*-id $pod'" ||
	fail "no containerd-shim-slrt-v2 process for sandbox $pod"
docker exec "$node" grep -q '"slrt.io/e2e": *"kind"' \
	"/run/containerd/io.containerd.runtime.v2.task/k8s.io/$pod/config.json" ||
	fail "the slrt.io/e2e annotation did not reach the sandbox's bundle"
kubectl --context "$ctx" delete pod slrt-hello --wait=true
echo "run.sh: OK: pod slrt-hello ran under containerd-shim-slrt-v2 in kind"
