#!/bin/bash
# Pack OUTDIR/rootfs (made by build.sh) as an OCI image-layout tar,
# OUTDIR/busybox-oci.tar, that `ctr images import` can load: containerd
# tests have no registry to pull from.
#
# Written with plain tar, gzip and sha256sum (no umoci/skopeo on the edge
# machines this is built on). The output is byte-for-byte reproducible:
# sorted entries, fixed mtimes, numeric owners 0:0, gzip -n.
# Layout: https://github.com/opencontainers/image-spec/blob/main/image-layout.md
#
# Usage: images/busybox/oci.sh OUTDIR
# Env:   SOURCE_DATE_EPOCH (default 0) for every timestamp.
set -euo pipefail
umask 022

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
ref=localhost/slrt/busybox:latest
epoch=${SOURCE_DATE_EPOCH:-0}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

"$here/build.sh" "$out"

stamp=$(cat "$0" "$out/.build-stamp" | sha256sum | cut -d' ' -f1)-$epoch
if [ -f "$out/busybox-oci.tar" ] && [ -f "$out/.oci-stamp" ] &&
	[ "$(cat "$out/.oci-stamp")" = "$stamp" ]; then
	exit 0
fi

case $(uname -m) in
x86_64) arch=amd64 variant= ;;
aarch64) arch=arm64 variant=v8 ;;
armv7l) arch=arm variant=v7 ;;
armv6l) arch=arm variant=v6 ;;
i?86) arch=386 variant= ;;
riscv64) arch=riscv64 variant= ;;
*) arch=$(uname -m) variant= ;;
esac
platform="\"architecture\":\"$arch\",\"os\":\"linux\"${variant:+,\"variant\":\"$variant\"}"

tmp=$(mktemp -d "$out/.oci.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
blobs=$tmp/layout/blobs/sha256
mkdir -p "$blobs"

# det_tar DIR OUTFILE NAME...: a reproducible tar of NAMEs relative to DIR.
det_tar() {
	local dir=$1 outfile=$2
	shift 2
	LC_ALL=C tar -C "$dir" --sort=name --format=gnu --mtime="@$epoch" \
		--owner=0 --group=0 --numeric-owner -cf "$outfile" "$@"
}

# blob FILE MEDIATYPE: move FILE into blobs/ under its digest and print its
# descriptor JSON.
blob() {
	local f=$1 mt=$2 sum size
	sum=$(sha256sum "$f" | cut -d' ' -f1)
	size=$(stat -c %s "$f")
	mv "$f" "$blobs/$sum"
	printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$mt" "$sum" "$size"
}

# The layer: the rootfs's top-level names without "./", as image builders
# write them.
mapfile -t top < <(cd "$out/rootfs" && LC_ALL=C ls -A | LC_ALL=C sort)
det_tar "$out/rootfs" "$tmp/layer.tar" "${top[@]}"
diffid=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$tmp/layer.tar"
layer=$(blob "$tmp/layer.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)

printf '%s' "{\"created\":\"$created\",$platform,\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diffid\"]},\"history\":[{\"created\":\"$created\",\"created_by\":\"images/busybox/oci.sh\"}]}" >"$tmp/config.json"
config=$(blob "$tmp/config.json" application/vnd.oci.image.config.v1+json)

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":$config,\"layers\":[$layer]}" >"$tmp/manifest.json"
manifest=$(blob "$tmp/manifest.json" application/vnd.oci.image.manifest.v1+json)

# ref.name carries the full name (the image-spec allows "/" and ":" in it);
# io.containerd.image.name makes containerd's importer use it as is.
desc=${manifest%\}}",\"platform\":{$platform},\"annotations\":{\"io.containerd.image.name\":\"$ref\",\"org.opencontainers.image.ref.name\":\"$ref\"}}"
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[$desc]}" >"$tmp/layout/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$tmp/layout/oci-layout"

det_tar "$tmp/layout" "$tmp/busybox-oci.tar" oci-layout index.json blobs
mv "$tmp/busybox-oci.tar" "$out/busybox-oci.tar"
echo "$stamp" >"$out/.oci-stamp"
