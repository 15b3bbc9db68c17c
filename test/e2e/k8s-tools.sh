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
set -euo pipefail

TOOLS=${SLRT_TOOLS:-$HOME/.cache/slrt/tools}
GO=${GO:-go}
command -v "$GO" >/dev/null || GO=/usr/local/go/bin/go
HELM_VERSION=${HELM_VERSION:-v3.22.0}
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
	*) echo "k8s-tools.sh: unknown tool $t (known: helm)" >&2; exit 2 ;;
	esac
done
