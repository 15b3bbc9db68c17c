#!/usr/bin/env bash
# test/e2e/tools.sh — build the containerd daemons and ctr the e2e tests and
# `make demo` drive, and the CRI test tools, from the Go module proxy, into a
# folder this tooling owns:
#
#   ${SLRT_TOOLS:-$HOME/.cache/slrt/tools}/containerd-<version>/{containerd,ctr,
#                                                 containerd-shim-runc-v2}
#   .../cri-tools-<version>/{crictl,critest,ginkgo}   (argument `cri`)
#   .../crane-<version>/crane                         (argument `cri` too)
#
# One folder per version; a folder is complete only once its .done stamp is
# written, so an interrupted build is redone and a finished one is never
# rebuilt (FORCE=1 rebuilds). The build runs outside this module (containerd
# is never added to slrt's go.mod): `go install pkg@version` with GOBIN for
# 2.x, `go build` in a copy of the module's source for 1.x (whose go.mod
# has exclude directives, which `go install pkg@version` refuses).
# Prints the folder of each version on stdout (last line = last version), and
# the time taken on stderr.
#
#   test/e2e/tools.sh                 # containerd + ctr v2.4.2
#   test/e2e/tools.sh 2.4.2 1.7.35    # several versions
#   test/e2e/tools.sh 1.6             # Debian 12's package, unpacked here
#   test/e2e/tools.sh cri             # crictl, critest, ginkgo, crane
#
# critest is a Go *test* binary (sigs.k8s.io/cri-tools/cmd/critest has only
# a _test.go file): it is built with `go test -c` in a throwaway module that
# requires cri-tools. ginkgo (the CLI critest --parallel=N runs) is the
# version cri-tools' go.mod names. crane serves the loopback registry
# (`crane registry serve`) and pushes the test images into it.
# Cold on 2 cores: cri-tools ~3-4 min, crane <1 min (shared module cache).
#
# Cold (empty module and build cache) on 2 cores: ~5-17 min for 2.4.2.
# Warm: nothing to do. 1.7.x lives at github.com/containerd/containerd (no /v2).
set -euo pipefail

TOOLS=${SLRT_TOOLS:-$HOME/.cache/slrt/tools}
GO=${GO:-go}
command -v "$GO" >/dev/null || GO=/usr/local/go/bin/go
[ $# -gt 0 ] || set -- 2.4.2

build_one() {
	local v=${1#v} dir mod
	dir=$TOOLS/containerd-$v
	# One build of a version at a time (make e2e and make demo may race);
	# released when the version is done.
	exec 9>"$TOOLS/.lock-$v"
	flock 9
	if [ "${FORCE:-0}" != 1 ] && [ -f "$dir/.done" ] && [ -x "$dir/containerd" ] && [ -x "$dir/ctr" ]; then
		[ -x "$dir/containerd-shim-runc-v2" ] || runc_shim_one "$v" "$dir"
		exec 9>&-
		echo "$dir"
		return 0
	fi
	case $v in
	1.6 | 1.6.*)
		debian_one "$v" "$dir"
		exec 9>&-
		return 0
		;;
	1.*) mod=github.com/containerd/containerd ;;
	*) mod=github.com/containerd/containerd/v2 ;;
	esac
	rm -rf "$dir"
	mkdir -p "$dir"
	local start=$SECONDS
	echo "tools.sh: building containerd + ctr $v into $dir (first time: several minutes)" >&2
	# Outside any module (cwd = the tools folder, GOFLAGS cleared of -mod
	# settings), so slrt's go.mod is never read nor touched. The version is
	# stamped so `containerd --version` does not say "+unknown".
	local ldflags="-s -w -X $mod/version.Version=v$v"
	case $v in
	1.*)
		# 1.7's go.mod has exclude directives, which `go install pkg@v`
		# refuses: build it as the main module from a copy of its source
		# (the module cache is read-only), with its own go.mod and go.sum.
		(
			cd "$TOOLS"
			local src
			src=$(GOFLAGS= GOWORK=off "$GO" mod download -json "$mod@v$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
			[ -d "$src" ] || { echo "tools.sh: no source for $mod@v$v" >&2; exit 1; }
			rm -rf "$TOOLS/src-$v"
			cp -r "$src" "$TOOLS/src-$v"
			chmod -R u+w "$TOOLS/src-$v"
			cd "$TOOLS/src-$v"
			GOFLAGS="-trimpath -mod=mod" GOWORK=off CGO_ENABLED=${CGO_ENABLED:-1} \
				nice -n 10 "$GO" build -ldflags "$ldflags" -o "$dir/" ./cmd/containerd ./cmd/ctr ./cmd/containerd-shim-runc-v2
		)
		rm -rf "$TOOLS/src-$v"
		;;
	*)
		(
			cd "$TOOLS"
			GOBIN=$dir GOFLAGS=-trimpath GOWORK=off CGO_ENABLED=${CGO_ENABLED:-1} \
				nice -n 10 "$GO" install -ldflags "$ldflags" \
				"$mod/cmd/containerd@v$v" "$mod/cmd/ctr@v$v" "$mod/cmd/containerd-shim-runc-v2@v$v"
		)
		;;
	esac
	date -u +%FT%TZ >"$dir/.done"
	echo "tools.sh: containerd $v built in $((SECONDS - start))s" >&2
	echo "$dir"
	exec 9>&-
}

# runc_shim_one VERSION DIR: containerd-shim-runc-v2 of the same version
# (the CRI tests' `runc` handler: a 2.x shim refuses a 1.x daemon's
# bootstrap) into a folder built before the shim was part of it, without
# touching the daemon there.
runc_shim_one() {
	local v=$1 dir=$2 start=$SECONDS
	echo "tools.sh: adding containerd-shim-runc-v2 $v to $dir" >&2
	case $v in
	1.6 | 1.6.*)
		local tmp
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download containerd >/dev/null 2>&1 ||
			{ apt-get update -qq && apt-get download containerd >/dev/null; })
		dpkg-deb -x "$tmp"/containerd_*.deb "$tmp/x"
		cp "$tmp/x/usr/bin/containerd-shim-runc-v2" "$dir/"
		rm -rf "$tmp"
		;;
	1.*)
		(
			cd "$TOOLS"
			local mod=github.com/containerd/containerd src
			src=$(GOFLAGS= GOWORK=off "$GO" mod download -json "$mod@v$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
			rm -rf "$TOOLS/src-shim-$v"
			cp -r "$src" "$TOOLS/src-shim-$v"
			chmod -R u+w "$TOOLS/src-shim-$v"
			cd "$TOOLS/src-shim-$v"
			GOFLAGS="-trimpath -mod=mod" GOWORK=off CGO_ENABLED=0 nice -n 10 "$GO" build \
				-ldflags "-s -w -X $mod/version.Version=v$v" -o "$dir/.containerd-shim-runc-v2.tmp" ./cmd/containerd-shim-runc-v2
		)
		rm -rf "$TOOLS/src-shim-$v"
		mv "$dir/.containerd-shim-runc-v2.tmp" "$dir/containerd-shim-runc-v2"
		;;
	*)
		local mod=github.com/containerd/containerd/v2 tmp
		tmp=$(mktemp -d)
		(
			cd "$TOOLS"
			GOBIN=$tmp GOFLAGS=-trimpath GOWORK=off CGO_ENABLED=0 nice -n 10 "$GO" install \
				-ldflags "-s -w -X $mod/version.Version=v$v" "$mod/cmd/containerd-shim-runc-v2@v$v"
		)
		mv "$tmp/containerd-shim-runc-v2" "$dir/"
		rm -rf "$tmp"
		;;
	esac
	echo "tools.sh: containerd-shim-runc-v2 $v in $((SECONDS - start))s" >&2
}

# debian_one VERSION DIR: containerd 1.6 is Debian 12's package (1.6.20, the
# one k3s-less Debian nodes run): its binaries are taken from the .deb
# (apt-get download + dpkg-deb -x), never installed, so no system service
# is set up or started on the host.
debian_one() {
	local v=$1 dir=$2 tmp deb
	tmp=$(mktemp -d)
	rm -rf "$dir"
	mkdir -p "$dir"
	(
		cd "$tmp"
		apt-get download containerd >/dev/null 2>&1 ||
			{ apt-get update -qq && apt-get download containerd >/dev/null; }
	)
	deb=$(ls "$tmp"/containerd_*.deb)
	case $(dpkg-deb -f "$deb" Version) in
	1.6.*) ;;
	*)
		echo "tools.sh: Debian's containerd is $(dpkg-deb -f "$deb" Version), not 1.6" >&2
		rm -rf "$tmp"
		return 1
		;;
	esac
	dpkg-deb -x "$deb" "$tmp/x"
	cp "$tmp/x/usr/bin/containerd" "$tmp/x/usr/bin/ctr" "$tmp/x/usr/bin/containerd-shim-runc-v2" "$dir/"
	dpkg-deb -f "$deb" Version >"$dir/.done"
	rm -rf "$tmp"
	echo "tools.sh: containerd $v from Debian's package ($(cat "$dir/.done"))" >&2
	echo "$dir"
}

CRI_TOOLS_VERSION=${CRI_TOOLS_VERSION:-v1.37.0}
CRANE_VERSION=${CRANE_VERSION:-v0.22.1}

# cri_tools: crictl, critest and ginkgo into cri-tools-<version>, crane into
# crane-<version>; each folder complete once its .done is written.
cri_tools() {
	local v=$CRI_TOOLS_VERSION dir=$TOOLS/cri-tools-${CRI_TOOLS_VERSION#v}
	exec 9>"$TOOLS/.lock-cri-tools-$v"
	flock 9
	if [ "${FORCE:-0}" = 1 ] || [ ! -f "$dir/.done" ]; then
		local start=$SECONDS
		echo "tools.sh: building crictl, critest, ginkgo $v into $dir (first time: a few minutes)" >&2
		rm -rf "$dir"
		mkdir -p "$dir"
		local mod=$TOOLS/src-critest-$v ldflags="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$v"
		rm -rf "$mod"
		mkdir -p "$mod"
		(
			cd "$mod"
			export GOFLAGS="-trimpath -mod=mod" GOWORK=off
			printf 'module slrt.invalid/critestbuild\n\ngo 1.24\n' >go.mod
			printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/cri-tools/cmd/critest"\n' >tools.go
			"$GO" get "sigs.k8s.io/cri-tools@$v" >/dev/null 2>&1
			"$GO" mod tidy >/dev/null
			GOBIN=$dir nice -n 10 "$GO" install -ldflags "$ldflags" sigs.k8s.io/cri-tools/cmd/crictl
			nice -n 10 "$GO" test -c -o "$dir/critest" -ldflags "$ldflags" sigs.k8s.io/cri-tools/cmd/critest
			# the ginkgo CLI of the same version as the library in critest
			local gv
			gv=$("$GO" list -m -f '{{.Version}}' github.com/onsi/ginkgo/v2)
			GOBIN=$dir nice -n 10 "$GO" install "github.com/onsi/ginkgo/v2/ginkgo@$gv"
		)
		rm -rf "$mod"
		date -u +%FT%TZ >"$dir/.done"
		echo "tools.sh: cri-tools $v built in $((SECONDS - start))s" >&2
	fi
	exec 9>&-
	echo "$dir"

	v=$CRANE_VERSION dir=$TOOLS/crane-${CRANE_VERSION#v}
	exec 9>"$TOOLS/.lock-crane-$v"
	flock 9
	if [ "${FORCE:-0}" = 1 ] || [ ! -f "$dir/.done" ]; then
		local start=$SECONDS
		rm -rf "$dir"
		mkdir -p "$dir"
		(
			cd "$TOOLS"
			GOBIN=$dir GOFLAGS=-trimpath GOWORK=off CGO_ENABLED=0 nice -n 10 \
				"$GO" install -ldflags "-s -w" "github.com/google/go-containerregistry/cmd/crane@$v"
		)
		date -u +%FT%TZ >"$dir/.done"
		echo "tools.sh: crane $v built in $((SECONDS - start))s" >&2
	fi
	exec 9>&-
	echo "$dir"
}

mkdir -p "$TOOLS"
t0=$SECONDS
for v in "$@"; do
	case $v in
	cri) cri_tools ;;
	*) build_one "$v" ;;
	esac
done
echo "tools.sh: ready in $((SECONDS - t0))s ($TOOLS)" >&2
