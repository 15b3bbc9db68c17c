#!/bin/bash
# Build the busybox test/demo image offline: OUTDIR/rootfs and OUTDIR/config.json.
#
# The rootfs is made from Debian's busybox-static (/bin/busybox), because this
# machine has no container registry. Every integration test copies the rootfs
# (internal/testutil.Bundle), so it must stay small and quick to build.
#
# Usage: images/busybox/build.sh OUTDIR
# Env:   BUSYBOX=/path/to/static/busybox (default /bin/busybox)
set -euo pipefail
umask 022

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
bb=${BUSYBOX:-/bin/busybox}
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$bb" ]; then
	echo "$0: $bb not found: install it with 'apt-get install busybox-static'" >&2
	exit 1
fi
# A dynamically linked busybox (Debian's "busybox" package) would need the
# host's libc inside the rootfs; only the static one works alone.
if [ "$(head -c4 "$bb" | tail -c3)" != ELF ] || grep -qa '/lib[a-z0-9]*/ld-linux' "$bb"; then
	echo "$0: $bb is not a static ELF binary: install it with 'apt-get install busybox-static'" >&2
	exit 1
fi

mkdir -p "$out"
# Test processes of several packages may build the same OUTDIR at once
# (internal/testutil's fallback when $SLRT_IMAGE is unset).
exec 9>>"$out/.build-lock"
flock 9
# Skip the work when neither this script nor busybox changed (make test
# runs this every time).
stamp=$(cat "$0" "$here/config.sh" "$bb" | sha256sum | cut -d' ' -f1)
if [ -f "$out/.build-stamp" ] && [ "$(cat "$out/.build-stamp")" = "$stamp" ] &&
	[ -x "$out/rootfs/bin/busybox" ] && [ -f "$out/config.json" ]; then
	exit 0
fi

# Build into a temporary directory and swap it in, so an interrupted build
# never leaves a half-made rootfs that a later run would take as complete.
tmp=$(mktemp -d "$out/.rootfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
r=$tmp/rootfs
export r
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,tmp,run,var/tmp}
chmod 0755 "$r" "$r"/{bin,sbin,usr,usr/bin,usr/sbin,etc,proc,sys,dev,run,var}
chmod 0700 "$r/root"
chmod 1777 "$r/tmp" "$r/var/tmp"
install -m 0755 "$bb" "$r/bin/busybox"

# One symlink per applet at the path busybox itself names, relative so the
# links also resolve when the rootfs is inspected from the host. perl (part
# of Debian's essential perl-base) makes all ~270 links in one process; a
# shell loop forking ln each time takes seconds on a busy 2-core machine.
"$bb" --list-full | perl -ne '
	chomp;
	next if $_ eq "" || $_ eq "bin/busybox";
	my $up = "../" x tr{/}{};
	symlink("${up}bin/busybox", "$ENV{r}/$_") or die "symlink $ENV{r}/$_: $!\n";
'

cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$r/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
cat >"$r/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
: >"$r/etc/resolv.conf"
version=$("$bb" | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')
cat >"$r/etc/os-release" <<EOF
NAME="slrt busybox"
ID=slrt-busybox
VERSION_ID=${version:-unknown}
PRETTY_NAME="slrt busybox test image (BusyBox ${version:-unknown})"
EOF
chmod 0644 "$r"/etc/*

# The bundle's config.json: runc spec's defaults (terminal off, so it runs
# without a console socket) and a process that shows it ran in the image.
"$here/config.sh" 'sh' '-c' 'echo hello from slrt; cat /etc/os-release 2>/dev/null; id' >"$tmp/config.json"

rm -rf "$out/rootfs"
mv "$r" "$out/rootfs"
mv "$tmp/config.json" "$out/config.json"
echo "$stamp" >"$out/.build-stamp"
