#!/usr/bin/env bash
# test/e2e/kind/run.sh — slrt in a kind cluster, installed through the Helm
# chart, for machines with Docker and internet access (kind pulls its node
# image, the pod pulls busybox). It cannot run on the project's CI machine
# (no Docker, no internet); `make e2e-k8s` covers the same chart on a real
# kubelet there.
#
#   1. builds slrt, the shim and slrt-installer (static: they run in any
#      node image) and the installer image (k8s/Dockerfile), loaded into
#      the cluster of cluster.yaml (a plain one-node kind cluster);
#   2. keeps a copy of the node's containerd config, then
#      `helm install` of charts/slrt with k8sDistribution=containerd: the
#      installer DaemonSet copies the binaries, registers handler sl and
#      restarts the node's containerd (systemd in kind's node image);
#   3. runs a pod with runtimeClassName sl (RuntimeClass from the chart)
#      and checks it ran under slrt: the pod's log, the sandbox's runtime
#      type in crictl inspectp, a containerd-shim-slrt-v2 process, the
#      slrt.io/* annotation in the sandbox's bundle;
#   4. `helm uninstall` and checks the node's containerd config is back
#      byte for byte;
#   5. deletes the cluster (KEEP=1 keeps it).
#
# Needs kind, kubectl, helm and docker on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
name=slrt
node=$name-control-plane
ctx=kind-$name
image=slrt/slrt-installer:kind
for t in kind kubectl helm docker; do
	command -v "$t" >/dev/null || { echo "run.sh: $t not found" >&2; exit 1; }
done

make -C "$repo" build shim
docker build -f "$repo/k8s/Dockerfile" -t "$image" "$repo/build"
before=$(mktemp)
kind create cluster --config "$here/cluster.yaml" --wait 120s
trap 'rm -f "$before"; [ "${KEEP:-0}" = 1 ] || kind delete cluster --name "$name"' EXIT
kind load docker-image "$image" --name "$name"

fail() {
	echo "run.sh: FAIL: $*" >&2
	kubectl --context "$ctx" describe pod slrt-hello >&2 || true
	kubectl --context "$ctx" -n slrt-system logs -l app.kubernetes.io/component=installer >&2 || true
	exit 1
}

docker exec "$node" cat /etc/containerd/config.toml >"$before"

helm --kube-context "$ctx" install slrt "$repo/charts/slrt" --namespace slrt-system --create-namespace \
	--set k8sDistribution=containerd --set image.repository=slrt/slrt-installer --set image.tag=kind \
	--set image.pullPolicy=Never --wait --timeout 180s
kubectl --context "$ctx" get runtimeclass sl >/dev/null || fail "the chart made no RuntimeClass sl"

kubectl --context "$ctx" apply -f "$here/manifests.yaml"
kubectl --context "$ctx" wait --for=condition=Ready pod/slrt-hello --timeout=180s || fail "pod slrt-hello not ready"
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

helm --kube-context "$ctx" uninstall slrt --namespace slrt-system --wait --timeout 180s
docker exec "$node" cat /etc/containerd/config.toml | cmp -s - "$before" ||
	fail "helm uninstall did not restore /etc/containerd/config.toml"
echo "run.sh: OK: pod slrt-hello ran under containerd-shim-slrt-v2 in kind, installed and removed by the chart"
