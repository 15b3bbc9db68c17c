#!/usr/bin/env bash
# test/e2e/cri-images.sh [OUTDIR] — the images the CRI tests and critest run,
# built offline (no registry here can be pulled from) into OUTDIR (default
# <repo>/build/cri-images):
#
#   OUTDIR/oci/<name>/    one OCI image layout per image (for `crane push`)
#   OUTDIR/images.txt     "<name> <ref> [<ref>...]": the upstream names each
#                         image is served under by the loopback registry
#   OUTDIR/pause.tar      registry.k8s.io/pause:3.10.2 (the pinned sandbox image)
#   OUTDIR/busybox.tar    registry.k8s.io/e2e-test-images/busybox:1.29-2 and
#                         docker.io/library/busybox:{latest,1.37.0}
#                         (the two `containerd.sh start` imports with ctr)
#
# Made with tar, gzip and sha256sum like images/busybox/oci.sh (reproducible:
# sorted entries, mtime 0, owners numeric), so neither umoci nor skopeo is
# needed: crane, built for the registry anyway, pushes the layouts.
#
# busybox is Debian's *dynamic* busybox (apt-get download, never installed:
# it conflicts with busybox-static) with the host's libc: busybox-static's
# shell runs applets without exec, so critest's MaskedPaths spec (a masked
# /bin/ls must fail to run) could not pass with it. Applets are hard links,
# as in the upstream image (a symlink would make masking /bin/ls mask
# /bin/busybox). pause, the nginx stand-in, nnp and stamp (bench/cri's
# first-instruction workload, ghcr.io/slrt/stamp:1) are our own small static
# C programs (test/e2e/imgsrc).
set -euo pipefail
umask 022
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/build/cri-images}
CC=${CC:-gcc}
mkdir -p "$out"
exec 8>>"$out/.lock"
flock 8

# The Debian busybox .deb is kept in OUTDIR: once fetched, a rebuild needs
# no apt.
deb=$(ls "$out"/busybox_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	(cd "$out" && { apt-get download busybox >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get download busybox >/dev/null; }; })
	deb=$(ls "$out"/busybox_*.deb | head -1)
fi

stamp=$(cat "$0" "$here"/imgsrc/*.c "$deb" | sha256sum | cut -d' ' -f1)
if [ "${FORCE:-0}" != 1 ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out"
	exit 0
fi
t0=${EPOCHREALTIME/./}
rm -rf "$out/oci" "$out/blobs" "$out/work" "$out/images.txt" "$out/.stamp"
w=$out/work
blobs=$out/blobs
mkdir -p "$w/bin" "$blobs" "$out/oci"

for p in pause nginx nnp; do
	"$CC" -static -Os -s -Wall -Werror -o "$w/bin/$p" "$here/imgsrc/$p.c"
done
# stamp reads the clock in its own _start: no libc, so nothing runs before
# it (and no TLS for a stack canary)
"$CC" -static -nostdlib -ffreestanding -fno-stack-protector -Os -s -Wall -Werror \
	-o "$w/bin/stamp" "$here/imgsrc/stamp.c"

case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

# blob FILE MEDIATYPE: move FILE into blobs/ under its digest, print its
# descriptor.
blob() {
	local sum size
	sum=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv "$1" "$blobs/$sum"
	printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$2" "$sum" "$size"
}

# layer NAME DIR: DIR's contents as a gzip layer; sets L_<NAME> (descriptor)
# and D_<NAME> (diff id).
layer() {
	local name=$1 dir=$2
	(cd "$dir" && LC_ALL=C ls -A | LC_ALL=C sort) >"$w/names"
	LC_ALL=C tar -C "$dir" --sort=name --format=gnu --mtime=@0 --numeric-owner \
		-cf "$w/layer.tar" -T "$w/names"
	printf -v "D_$name" 'sha256:%s' "$(sha256sum "$w/layer.tar" | cut -d' ' -f1)"
	gzip -n "$w/layer.tar"
	printf -v "L_$name" '%s' "$(blob "$w/layer.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)"
}

# image NAME CONFIG LAYER... -- REF...: an image of the named layers (bottom
# first) with CONFIG (the image config's "config" object) as layout
# oci/NAME, listed in images.txt under REFs.
image() {
	local name=$1 cfg=$2 l descs= diffs=
	shift 2
	while [ "$1" != -- ]; do
		l=L_$1 && descs+=${descs:+,}${!l}
		l=D_$1 && diffs+=${diffs:+,}\"${!l}\"
		shift
	done
	shift
	printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":[%s]},"history":[{"created_by":"test/e2e/cri-images.sh"}]}' \
		"$arch" "$cfg" "$diffs" >"$w/config.json"
	local c m d=$out/oci/$name
	c=$(blob "$w/config.json" application/vnd.oci.image.config.v1+json)
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
		"$c" "$descs" >"$w/manifest.json"
	m=$(blob "$w/manifest.json" application/vnd.oci.image.manifest.v1+json)
	mkdir -p "$d/blobs/sha256"
	# every blob this image names, hard-linked from the shared store
	local sum
	for sum in $(grep -oE 'sha256:[0-9a-f]{64}' <<<"$c $descs $m" | cut -d: -f2); do
		ln -f "$blobs/$sum" "$d/blobs/sha256/$sum"
	done
	# index.json: the image once (what crane push takes); index-all.json
	# (index.json in the ctr import tars): one entry per name, as ctr
	# import makes an image of each
	local ents= r
	for r in "$@"; do
		ents+=${ents:+,}${m%\}},\"annotations\":{\"io.containerd.image.name\":\"$r\",\"org.opencontainers.image.ref.name\":\"${r##*:}\"}}
	done
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$ents" >"$d/index-all.json"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$m" >"$d/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	echo "$name $*" >>"$out/images.txt"
}

PATHENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'

# --- busybox --------------------------------------------------------------
bb=$w/busybox
mkdir -p "$w/deb" "$bb"/{bin,sbin,etc,tmp,var/run,proc,sys,dev,root,home,usr/bin,usr/sbin}
chmod 1777 "$bb/tmp"
chmod 0700 "$bb/root"
dpkg-deb -x "$deb" "$w/deb"
BB=$w/deb/bin/busybox
for lib in $(ldd "$BB" | grep -oE '/[^ ]+'); do
	mkdir -p "$bb$(dirname "$lib")"
	cp -L "$lib" "$bb$lib"
done
cp "$BB" "$bb/bin/busybox"
for a in $("$BB" --list); do
	[ "$a" = busybox ] || ln -f "$bb/bin/busybox" "$bb/bin/$a"
done
# Applets Debian's busybox lacks and critest runs: pgrep (the PID namespace
# specs), pkill, ipcs (the IPC namespace specs). Small sh versions over /proc.
cat >"$bb/usr/bin/pgrep" <<'S'
#!/bin/sh
# pgrep [-f] PATTERN / pkill [-f] [-SIGNAL] PATTERN over /proc (stand-in).
full=0 sig=TERM me=${0##*/}
while [ $# -gt 1 ]; do
	case $1 in
	-f) full=1 ;;
	-[A-Z0-9]*) sig=${1#-} ;;
	*) break ;;
	esac
	shift
done
rc=1
for d in /proc/[0-9]*; do
	p=${d#/proc/}
	[ "$p" = $$ ] && continue
	if [ $full = 1 ]; then s=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null); else read -r s <"$d/comm" 2>/dev/null || s=; fi
	[ -n "$s" ] || continue
	case $s in *pgrep* | *pkill*) continue ;; esac
	echo "$s" | grep -Eq -- "$1" || continue
	rc=0
	if [ "$me" = pkill ]; then kill -"$sig" "$p"; else echo "$p"; fi
done
exit $rc
S
chmod 755 "$bb/usr/bin/pgrep"
ln -f "$bb/usr/bin/pgrep" "$bb/usr/bin/pkill"
cat >"$bb/usr/bin/ipcs" <<'S'
#!/bin/sh
# ipcs [-m|-q|-s] (stand-in): the kernel's /proc/sysvipc tables.
case $1 in -m) l=shm ;; -q) l=msg ;; -s) l=sem ;; *) l="shm msg sem" ;; esac
for t in $l; do
	echo "------ $t (/proc/sysvipc/$t) ------"
	cat "/proc/sysvipc/$t"
	echo
done
S
chmod 755 "$bb/usr/bin/ipcs"
cat >"$bb/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat >"$bb/etc/group" <<'G'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
G
layer bb "$bb"
BBCFG="{\"Env\":[$PATHENV],\"Cmd\":[\"sh\"]}"
image busybox "$BBCFG" bb -- registry.k8s.io/e2e-test-images/busybox:1.29-2 \
	docker.io/library/busybox:latest docker.io/library/busybox:1.37.0

# --- pause ----------------------------------------------------------------
mkdir -p "$w/pause"
cp "$w/bin/pause" "$w/pause/pause"
layer pause "$w/pause"
PAUSECFG="{\"Env\":[$PATHENV],\"Entrypoint\":[\"/pause\"],\"User\":\"65535:65535\"}"
image pause "$PAUSECFG" pause -- registry.k8s.io/pause:3.10.2 registry.k8s.io/pause:3.10.1 \
	registry.k8s.io/pause:3.10 registry.k8s.io/pause:3.8 registry.k8s.io/pause:3.6
# critest's image-listing spec wants one image under exactly two names in
# two registries: a different image (a marker file) from the sandbox's.
mkdir -p "$w/pause39/etc"
echo 3.9 >"$w/pause39/etc/pause-version"
layer pause39 "$w/pause39"
image pause-3.9 "$PAUSECFG" pause pause39 -- registry.k8s.io/pause:3.9 k8s.gcr.io/pause:3.9

# --- the other images critest pulls ---------------------------------------
K=registry.k8s.io/e2e-test-images
S=gcr.io/k8s-staging-cri-tools
mkdir -p "$w/nginx/usr/sbin" "$w/nginx/usr/share/nginx/html" "$w/nginx/var/run"
cp "$w/bin/nginx" "$w/nginx/usr/sbin/nginx"
echo '<html><body><h1>Welcome to nginx!</h1></body></html>' >"$w/nginx/usr/share/nginx/html/index.html"
layer nginx "$w/nginx"
image nginx "{\"Env\":[$PATHENV],\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],\"ExposedPorts\":{\"80/tcp\":{}},\"StopSignal\":\"SIGQUIT\"}" \
	bb nginx -- $K/nginx:1.14-2
image hostnet-nginx "{\"Env\":[$PATHENV,\"NGINX_PORT=12003\"],\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],\"ExposedPorts\":{\"12003/tcp\":{}},\"StopSignal\":\"SIGQUIT\"}" \
	bb nginx -- $S/hostnet-nginx-$arch:latest

# httpd: busybox httpd; the multi-container spec wants "httpd" in its log
# and a 200 on port 80.
mkdir -p "$w/httpd/usr/local/apache2/htdocs"
echo '<html><body><h1>It works!</h1></body></html>' >"$w/httpd/usr/local/apache2/htdocs/index.html"
layer httpd "$w/httpd"
image httpd "{\"Env\":[$PATHENV],\"Cmd\":[\"sh\",\"-c\",\"echo httpd starting; exec httpd -f -v -p 80 -h /usr/local/apache2/htdocs\"],\"ExposedPorts\":{\"80/tcp\":{}}}" \
	bb httpd -- $K/httpd:2.4.39-4

mkdir -p "$w/nnp/usr/local/bin"
install -o 0 -g 0 -m 4755 "$w/bin/nnp" "$w/nnp/usr/local/bin/nnp"
layer nnp "$w/nnp"
image nonewprivs "{\"Env\":[$PATHENV],\"Cmd\":[\"/usr/local/bin/nnp\"]}" bb nnp -- $K/nonewprivs:1.3

# images whose USER is all that differs
image user-uid "{\"Env\":[$PATHENV],\"Cmd\":[\"sh\"],\"User\":\"1002\"}" bb -- $S/test-image-user-uid:latest
image user-username "{\"Env\":[$PATHENV],\"Cmd\":[\"sh\"],\"User\":\"www-data\"}" bb -- $S/test-image-user-username:latest
image user-uid-group "{\"Env\":[$PATHENV],\"Cmd\":[\"sh\"],\"User\":\"1003:1004\"}" bb -- $S/test-image-user-uid-group:latest
image user-username-group "{\"Env\":[$PATHENV],\"Cmd\":[\"sh\"],\"User\":\"www-data:1004\"}" bb -- $S/test-image-user-username-group:latest

# a user whose supplementary group is defined only in the image
mkdir -p "$w/pgroup/etc" "$w/pgroup/home/default-user"
cp "$bb/etc/passwd" "$bb/etc/group" "$w/pgroup/etc/"
echo 'default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh' >>"$w/pgroup/etc/passwd"
printf 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n' >>"$w/pgroup/etc/group"
chown 1000:1000 "$w/pgroup/home/default-user"
layer pgroup "$w/pgroup"
image predefined-group "{\"Env\":[$PATHENV],\"Cmd\":[\"sh\"],\"User\":\"1000\"}" bb pgroup -- $S/test-image-predefined-group:latest

# bench/cri's first-instruction workload: the static stamp program alone
# (the name is only served by the loopback registry)
mkdir -p "$w/stamp"
cp "$w/bin/stamp" "$w/stamp/stamp"
layer stamp "$w/stamp"
image stamp "{\"Entrypoint\":[\"/stamp\"]}" stamp -- ghcr.io/slrt/stamp:1

# image-service specs: distinct images (one marker file each)
for t in 1 2 3 latest tags tag-test tag-all digest; do
	mkdir -p "$w/mark-$t"
	echo "$t" >"$w/mark-$t/test-image-$t"
	layer "m${t//-/_}" "$w/mark-$t"
done
image test-image-1 "$BBCFG" bb m1 -- $S/test-image-1:latest
image test-image-2 "$BBCFG" bb m2 -- $S/test-image-2:latest
image test-image-3 "$BBCFG" bb m3 -- $S/test-image-3:latest
image test-image-latest "$BBCFG" bb mlatest -- $S/test-image-latest:latest
image test-image-tags "$BBCFG" bb mtags -- $S/test-image-tags:1 $S/test-image-tags:2 $S/test-image-tags:3
image test-image-tag-test "$BBCFG" bb mtag_test -- $S/test-image-tag:test
image test-image-tag-all "$BBCFG" bb mtag_all -- $S/test-image-tag:all
# (the spec pulling test-image-digest@sha256:9700f9a2… names the digest of
# the upstream image, which no offline build can reproduce: critest.sh
# skips it; this tag is here for the registry listing only)
image test-image-digest "$BBCFG" bb mdigest -- $S/test-image-digest:latest

# --- tars for ctr import --------------------------------------------------
for n in pause busybox; do
	tar -C "$out/oci/$n" --transform 's,^index-all\.json$,index.json,' -cf "$out/$n.tar.tmp" oci-layout index-all.json blobs
	mv "$out/$n.tar.tmp" "$out/$n.tar"
done
rm -rf "$w"
echo "$stamp" >"$out/.stamp"
echo "cri-images.sh: $(wc -l <"$out/images.txt") images in $out ($(((${EPOCHREALTIME/./} - t0) / 1000))ms)" >&2
echo "$out"
