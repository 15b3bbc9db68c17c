#!/usr/bin/env bash
# test/e2e/cri-smoke.sh [HANDLER] — one pod and one container through the
# CRI of a containerd started with `SLRT_CRI=1 test/e2e/containerd.sh
# start`, with crictl: runp --runtime HANDLER (default sl), create, start,
# exec (streaming and sync), logs, stop, rm. Checks that the pod runs under
# containerd-shim-slrt-v2, that its slrt.io/* annotation reaches the bundle,
# that it got an address on the CNI bridge, and that nothing of it is left.
# Same environment as containerd.sh (SLRT_CONTAINERD, SLRT_E2E_DIR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
H=${1:-sl}
eval "$("$here/containerd.sh" env)"
[ "$CRI" = 1 ] || { echo "cri-smoke.sh: containerd $SLRT_CONTAINERD is not in CRI mode" >&2; exit 1; }
c() { "$CRICTL" --config "$CRICTL_CONFIG" "$@" 2>/dev/null; }
fail() {
	echo "cri-smoke.sh ($H): FAIL: $*" >&2
	exit 1
}
t0=${EPOCHREALTIME/./}
w=$(mktemp -d "$DIR/smoke.XXXXXX")
trap 'rm -rf "$w"' EXIT
uid=smoke-$$-$RANDOM
cat >"$w/pod.json" <<J
{"metadata": {"name": "smoke-$H", "namespace": "default", "uid": "$uid", "attempt": 1},
 "hostname": "smoke-$H", "log_directory": "$w/logs",
 "annotations": {"slrt.io/smoke": "$uid"}, "linux": {}}
J
cat >"$w/ctr.json" <<J
{"metadata": {"name": "bb"}, "image": {"image": "registry.k8s.io/e2e-test-images/busybox:1.29-2"},
 "command": ["sh", "-c", "echo hello from $H; exec sleep 600"], "log_path": "bb.log", "linux": {}}
J
pod=$(c runp --runtime "$H" "$w/pod.json") || fail "runp"
cleanup() {
	c stopp "$pod" >/dev/null || true
	c rmp -f "$pod" >/dev/null || true
	rm -rf "$w"
}
trap cleanup EXIT
st=$(c inspectp "$pod")
[ "$(jq -r .status.state <<<"$st")" = SANDBOX_READY ] || fail "pod not ready: $(jq -c .status <<<"$st")"
ip=$(jq -r .status.network.ip <<<"$st")
case $ip in "${CNI_SUBNET%.0/24}".*) ;; *) fail "pod address $ip is not on $CNI_SUBNET" ;; esac
want=io.containerd.runc.v2
[ "$H" = sl ] && want=io.containerd.slrt.v2
[ "$(jq -r .info.runtimeType <<<"$st")" = "$want" ] || fail "runtime type $(jq -r .info.runtimeType <<<"$st"), want $want"
ctr=$(c create "$pod" "$w/ctr.json" "$w/pod.json") || fail "create"
c start "$ctr" >/dev/null || fail "start"
out=$(c exec "$ctr" sh -c 'echo exec-ok; hostname; cat /proc/1/cmdline | tr "\0" " "') || fail "exec"
grep -qx exec-ok <<<"$out" || fail "exec output: $out"
grep -qx "smoke-$H" <<<"$out" || fail "hostname in: $out"
[ "$(c exec -s "$ctr" echo sync-ok)" = sync-ok ] || fail "exec -s"
for _ in $(seq 1 50); do
	c logs "$ctr" | grep -qx "hello from $H" && break
	sleep 0.1
done
c logs "$ctr" | grep -qx "hello from $H" || fail "logs: $(c logs "$ctr")"
if [ "$H" = sl ]; then
	# the shim serving the pod is ours, and got the pod annotation
	b=$(ls -d "$DIR"/state/io.containerd.runtime.v2.task/k8s.io/"$pod")
	grep -q "\"slrt.io/smoke\": *\"$uid\"" "$b/config.json" ||
		fail "annotation slrt.io/smoke not in $b/config.json"
	# the process serving the pod: the one started with "-id <pod>"
	sp=
	for f in /proc/[0-9]*/cmdline; do
		{ tr '\0' ' ' <"$f"; } 2>/dev/null | grep -q -- "-id $pod " || continue
		sp=${f#/proc/} sp=${sp%/cmdline}
		break
	done
	[ -n "$sp" ] && [ "$(readlink "/proc/$sp/exe")" = "$(readlink -f "$SHIM")" ] ||
		fail "the pod's shim (pid ${sp:-none}) is not $SHIM"
fi
c stop -t 2 "$ctr" >/dev/null || fail "stop"
c rm "$ctr" >/dev/null || fail "rm"
c stopp "$pod" >/dev/null || fail "stopp"
c rmp "$pod" >/dev/null || fail "rmp"
trap 'rm -rf "$w"' EXIT
! c pods -q | grep -qx "$pod" || fail "pod $pod left"
[ ! -e "$DIR/state/io.containerd.runtime.v2.task/k8s.io/$pod" ] || fail "bundle of $pod left"
echo "cri-smoke.sh: $H OK (pod $ip, $(((${EPOCHREALTIME/./} - t0) / 1000))ms)"
