#!/usr/bin/env bash
# test/e2e/k8s-tools.sh — build the Kubernetes tools the chart tests and
# `make e2e-k8s` use, from the Go module proxy, into the tools cache
# test/e2e/tools.sh uses for containerd:
#
#   ${SLRT_TOOLS:-$HOME/.cache/slrt/tools}/helm-<version>/helm
#
# Same rules as tools.sh: one folder per version, complete once its .done
# stamp is written, never rebuilt after (FORCE=1 rebuilds), built outside
# slrt's module so go.mod is never touched. Prints the folder on stdout.
#
#   test/e2e/k8s-tools.sh helm        # helm v3.22.0 (~3-6 min cold on 2 cores)
#   test/e2e/k8s-tools.sh kubernetes  # kubelet, kube-apiserver, kube-controller-manager,
#                                     # kube-scheduler, kubectl v1.34.4 (~10-15 min cold)
#   test/e2e/k8s-tools.sh etcd        # etcd v3.6.4 (~2-4 min cold)
#   test/e2e/k8s-tools.sh runc-shim   # containerd-shim-runc-v2 v2.4.2, for the pods
#                                     # that do not use sl (the chart's installer)
#
# k8s.io/kubernetes and etcd's server module carry replace directives, so
# `go install mod@version` refuses them: each is built from a throwaway
# module in the tools folder that requires it (kubernetes: every staging
# module k8s.io/X pinned to its published v0.<minor>.<patch>).
set -euo pipefail

TOOLS=${SLRT_TOOLS:-$HOME/.cache/slrt/tools}
GO=${GO:-go}
command -v "$GO" >/dev/null || GO=/usr/local/go/bin/go
HELM_VERSION=${HELM_VERSION:-v3.22.0}
KUBE_VERSION=${KUBE_VERSION:-v1.34.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.4}
KUBE_BINS="kubelet kube-apiserver kube-controller-manager kube-scheduler kubectl"

# begin NAME: lock and check $TOOLS/NAME; returns 1 when already built.
begin() {
	dir=$TOOLS/$1
	mkdir -p "$TOOLS"
	exec 9>"$TOOLS/.lock-$1"
	flock 9
	if [ "${FORCE:-0}" != 1 ] && [ -f "$dir/.done" ]; then
		exec 9>&-
		echo "$dir"
		return 1
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	start=$SECONDS
	echo "k8s-tools.sh: building $1 into $dir (first time: several minutes)" >&2
}

done_() {
	date -u +%FT%TZ >"$dir/.done"
	echo "k8s-tools.sh: $1 built in $((SECONDS - start))s" >&2
	echo "$dir"
	exec 9>&-
}

build_kubernetes() {
	begin "kubernetes-$KUBE_VERSION" || return 0
	local mod=$dir/src staging minor=${KUBE_VERSION#v1.}
	minor=${minor%%.*}
	mkdir -p "$mod"
	(
		cd "$mod"
		export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
		# The staging modules are the `=> ./staging/...` replaces of
		# kubernetes' own go.mod.
		local gomod
		gomod=$("$GO" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
		{
			printf 'module slrt-kubernetes-build\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
				"$(awk '/^go /{print $2; exit}' "$gomod")" "$KUBE_VERSION"
			awk '/=> \.\/staging/{print $1}' "$gomod" | sort -u | while read -r m; do
				printf '\t%s => %s v0.%s\n' "$m" "$m" "${KUBE_VERSION#v1.}"
			done
			printf ')\n'
		} >go.mod
		printf '//go:build tools\n\npackage tools\n\nimport (\n' >tools.go
		for b in $KUBE_BINS; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b" >>tools.go; done
		printf ')\n' >>tools.go
		"$GO" mod tidy >&2
		local x="" p
		for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			x="$x -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
		done
		for b in $KUBE_BINS; do
			nice -n 10 "$GO" build -trimpath -ldflags "-s -w $x" -o "$dir/$b" "k8s.io/kubernetes/cmd/$b"
		done
	)
	rm -rf "$mod"
	done_ "kubernetes $KUBE_VERSION"
}

RUNC_SHIM_VERSION=${RUNC_SHIM_VERSION:-v2.4.2}

build_runc_shim() {
	begin "containerd-shim-runc-v2-$RUNC_SHIM_VERSION" || return 0
	(
		cd "$TOOLS"
		GOBIN=$dir GOFLAGS=-trimpath GOWORK=off CGO_ENABLED=0 nice -n 10 "$GO" install -ldflags "-s -w" \
			"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$RUNC_SHIM_VERSION"
	)
	done_ "containerd-shim-runc-v2 $RUNC_SHIM_VERSION"
}

build_etcd() {
	begin "etcd-$ETCD_VERSION" || return 0
	local mod=$dir/src
	mkdir -p "$mod"
	(
		cd "$mod"
		export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
		printf 'module slrt-etcd-build\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >go.mod
		printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3/etcdmain"\n' >tools.go
		"$GO" mod tidy >&2
		nice -n 10 "$GO" build -trimpath -ldflags "-s -w" -o "$dir/etcd" go.etcd.io/etcd/server/v3
	)
	rm -rf "$mod"
	done_ "etcd $ETCD_VERSION"
}
[ $# -gt 0 ] || set -- helm

build_helm() {
	local dir=$TOOLS/helm-$HELM_VERSION
	mkdir -p "$TOOLS"
	exec 9>"$TOOLS/.lock-helm-$HELM_VERSION"
	flock 9
	if [ "${FORCE:-0}" != 1 ] && [ -f "$dir/.done" ] && [ -x "$dir/helm" ]; then
		exec 9>&-
		echo "$dir"
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	local start=$SECONDS
	echo "k8s-tools.sh: building helm $HELM_VERSION into $dir (first time: several minutes)" >&2
	(
		cd "$TOOLS"
		GOBIN=$dir GOFLAGS=-trimpath GOWORK=off CGO_ENABLED=0 \
			nice -n 10 "$GO" install -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	)
	date -u +%FT%TZ >"$dir/.done"
	echo "k8s-tools.sh: helm $HELM_VERSION built in $((SECONDS - start))s" >&2
	echo "$dir"
	exec 9>&-
}

for t in "$@"; do
	case $t in
	helm) build_helm ;;
	kubernetes) build_kubernetes ;;
	etcd) build_etcd ;;
	runc-shim) build_runc_shim ;;
	*) echo "k8s-tools.sh: unknown tool $t (known: helm, kubernetes, etcd, runc-shim)" >&2; exit 2 ;;
	esac
done
