#!/usr/bin/env bash
# test/e2e/k8s-images.sh OUTDIR — the two images `make e2e-k8s` imports into
# its containerd (there is no registry to pull from), as OCI image-layout
# tars for `ctr images import`:
#
#   OUTDIR/pause.tar      localhost/slrt/pause:e2e — the pod sandbox: the
#                         busybox rootfs (make image) running sleep
#   OUTDIR/installer.tar  localhost/slrt/slrt-installer:e2e — what
#                         k8s/Dockerfile builds: FROM scratch, /slrt-installer
#                         (the entrypoint), /slrt and /containerd-shim-slrt-v2
#                         (make build shim)
#
# Plain tar, gzip and sha256sum; fixed mtimes and owners.
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$repo/build}
mkdir -p "$out"

# pack ROOTFS REF CONFIG OUTFILE: one layer holding ROOTFS's top-level names.
pack() {
	local rootfs=$1 ref=$2 cfg=$3 outfile=$4 tmp
	tmp=$(mktemp -d)
	local blobs=$tmp/blobs/sha256
	mkdir -p "$blobs"
	desc() { # FILE MEDIATYPE -> descriptor, FILE moved into blobs/
		local sum size
		sum=$(sha256sum "$1" | cut -d' ' -f1)
		size=$(stat -c %s "$1")
		mv "$1" "$blobs/$sum"
		printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$2" "$sum" "$size"
	}
	(cd "$rootfs" && LC_ALL=C ls -A | LC_ALL=C sort) >"$tmp/names"
	LC_ALL=C tar -C "$rootfs" --sort=name --format=gnu --mtime=@0 --owner=0 --group=0 --numeric-owner \
		-cf "$tmp/layer.tar" -T "$tmp/names"
	local diffid layer config manifest
	diffid=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
	gzip -n "$tmp/layer.tar"
	layer=$(desc "$tmp/layer.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)
	printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$cfg" "$diffid" >"$tmp/config.json"
	config=$(desc "$tmp/config.json" application/vnd.oci.image.config.v1+json)
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
		"$config" "$layer" >"$tmp/manifest.json"
	manifest=$(desc "$tmp/manifest.json" application/vnd.oci.image.manifest.v1+json)
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' \
		"${manifest%\}},\"annotations\":{\"org.opencontainers.image.ref.name\":\"$ref\",\"io.containerd.image.name\":\"$ref\"}}" >"$tmp/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci-layout"
	tar -C "$tmp" -cf "$outfile" oci-layout index.json blobs
	rm -rf "$tmp"
}

[ -d "$build/busybox/rootfs" ] || { echo "k8s-images.sh: no $build/busybox/rootfs (make image)" >&2; exit 1; }
pack "$build/busybox/rootfs" localhost/slrt/pause:e2e \
	'{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sleep","2147483647"]}' "$out/pause.tar"

for b in slrt-installer slrt containerd-shim-slrt-v2; do
	[ -x "$build/$b" ] || { echo "k8s-images.sh: no $build/$b (make build shim)" >&2; exit 1; }
done
inst=$(mktemp -d)
cp "$build/slrt-installer" "$build/slrt" "$build/containerd-shim-slrt-v2" "$inst/"
pack "$inst" localhost/slrt/slrt-installer:e2e '{"Entrypoint":["/slrt-installer"],"Cmd":["--help"]}' "$out/installer.tar"
rm -rf "$inst"
echo "$out/pause.tar $out/installer.tar"
