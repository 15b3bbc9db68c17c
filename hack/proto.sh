#!/bin/bash
# proto.sh generates the ttrpc-only containerd API code the shim speaks
# (task v2/v3, events, bootstrap, introspection, runc options) from the .proto
# files of a pinned github.com/containerd/containerd/api, read from the Go
# module cache. Why not import containerd/api: its packages carry gRPC stubs
# (+6 MB) and registering the same proto paths twice panics (DESIGN §3).
#
# It also generates the cgroup metrics messages the shim's Stats returns
# (io.containerd.cgroups.v1/v2.Metrics, which the CRI decodes) from a pinned
# github.com/containerd/cgroups/v3's metrics.proto files, so the wire format
# is containerd's without linking that library (cilium/ebpf, godbus, ...).
# Their proto package is renamed slrt.cgroups.v1/v2: the wire format carries
# field numbers and types, never message names (the shim names the Any's
# type itself), and distinct names let a test binary link containerd's
# generated types next to ours to check the encoding.
#
# Tools: Debian's protoc (apt-get install protobuf-compiler); protoc-gen-go,
# protoc-gen-go-ttrpc and go-fix-acronym are built at pinned versions into
# $TOOLS (default build/tools). Output: shim/internal/api (committed).
set -euo pipefail
cd "$(dirname "$0")/.."

API_VERSION=${API_VERSION:-v1.12.0}
PROTOBUF_VERSION=${PROTOBUF_VERSION:-v1.36.12}
TTRPC_VERSION=${TTRPC_VERSION:-v1.2.10}
PROTOBUILD_VERSION=${PROTOBUILD_VERSION:-v0.3.0}
CGROUPS_VERSION=${CGROUPS_VERSION:-v3.1.3}
TOOLS=${TOOLS:-$PWD/build/tools}
OUT=shim/internal/api
MOD=github.com/slrt/slrt/$OUT

command -v protoc >/dev/null || { echo "proto.sh: protoc missing: apt-get install protobuf-compiler" >&2; exit 1; }
mkdir -p "$TOOLS"
install_tool() { # name module-path@version
  [ -x "$TOOLS/$1" ] && [ -f "$TOOLS/.$1.$3" ] && return
  (cd /tmp && GOBIN=$TOOLS GOFLAGS= go install "$2@$3")
  touch "$TOOLS/.$1.$3"
}
install_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOBUF_VERSION"
install_tool protoc-gen-go-ttrpc github.com/containerd/ttrpc/cmd/protoc-gen-go-ttrpc "$TTRPC_VERSION"
install_tool go-fix-acronym github.com/containerd/protobuild/cmd/go-fix-acronym "$PROTOBUILD_VERSION"
export PATH=$TOOLS:$PATH

# Read the .proto files from the module cache (outside our module, so go.mod
# is untouched).
API=$(cd /tmp && GOFLAGS= go mod download -json "github.com/containerd/containerd/api@$API_VERSION" |
  sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$API" ] || { echo "proto.sh: containerd/api $API_VERSION not in the module cache" >&2; exit 1; }
CG=$(cd /tmp && GOFLAGS= go mod download -json "github.com/containerd/cgroups/v3@$CGROUPS_VERSION" |
  sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$CG" ] || { echo "proto.sh: containerd/cgroups $CGROUPS_VERSION not in the module cache" >&2; exit 1; }

# Copy the protos we need and drop the fieldpath option: it only serves
# containerd's event filters and would link descriptorpb (~170 KB).
SRC=$(mktemp -d); trap 'rm -rf "$SRC"' EXIT
FILES="types/mount.proto types/event.proto types/introspection.proto types/task/task.proto
  types/runc/options/oci.proto runtime/task/v2/shim.proto runtime/task/v3/shim.proto
  events/task.proto services/ttrpc/events/v1/events.proto runtime/bootstrap/v1/bootstrap.proto"
for f in $FILES; do
  mkdir -p "$SRC/$(dirname "$f")"
  sed -e '/import "types\/fieldpath.proto";/d' -e '/option (containerd.types.fieldpath[a-z_]*) = true;/d' \
    "$API/$f" > "$SRC/$f"
done
for v in 1 2; do
  mkdir -p "$SRC/cgroups/v$v"
  sed -e "s/^package io\.containerd\.cgroups\.v$v;/package slrt.cgroups.v$v;/" \
    "$CG/cgroup$v/stats/metrics.proto" > "$SRC/cgroups/v$v/metrics.proto"
  grep -q "^package slrt.cgroups.v$v;" "$SRC/cgroups/v$v/metrics.proto" ||
    { echo "proto.sh: cgroup$v/stats/metrics.proto: package line not found" >&2; exit 1; }
  FILES="$FILES cgroups/v$v/metrics.proto"
done

M=""
for pair in \
  "types/mount.proto=$MOD/types;types" \
  "types/event.proto=$MOD/types;types" \
  "types/introspection.proto=$MOD/types;types" \
  "types/task/task.proto=$MOD/types/task;task" \
  "types/runc/options/oci.proto=$MOD/types/runc/options;options" \
  "runtime/task/v2/shim.proto=$MOD/runtime/task/v2;task" \
  "runtime/task/v3/shim.proto=$MOD/runtime/task/v3;task" \
  "events/task.proto=$MOD/events;events" \
  "services/ttrpc/events/v1/events.proto=$MOD/services/ttrpc/events/v1;events" \
  "runtime/bootstrap/v1/bootstrap.proto=$MOD/runtime/bootstrap/v1;bootstrap" \
  "cgroups/v1/metrics.proto=$MOD/types/cgroups/v1;cgroupsv1" \
  "cgroups/v2/metrics.proto=$MOD/types/cgroups/v2;cgroupsv2"; do
  M="$M,M$pair"
done
M=${M#,}

rm -rf "$OUT"; mkdir -p "$OUT"
# shellcheck disable=SC2086
protoc -I "$SRC" -I /usr/include \
  --go_out="$OUT" --go_opt="module=$MOD,$M" \
  --go-ttrpc_out="$OUT" --go-ttrpc_opt="module=$MOD,prefix=TTRPC,$M" \
  $FILES

# The lean message code (hack/protoc-gen-slrt): the same messages as plain
# structs with their own Marshal/Unmarshal over protowire, no protobuf-go
# runtime (issue 6). The well-known types they use (Any, Timestamp, Empty)
# are generated the same way from protoc's own .proto files into pb/wkt.
(cd hack/protoc-gen-slrt && go build -o "$TOOLS/protoc-gen-slrt" .)
LEAN_OUT=shim/internal/pb
LEAN_MOD=github.com/slrt/slrt/$LEAN_OUT
WKT="google/protobuf/any.proto google/protobuf/timestamp.proto google/protobuf/empty.proto"
LM=""
for w in $WKT; do LM="$LM,M$w=$LEAN_MOD/wkt;wkt"; done
LM=${LM#,}${M:+,}$(sed "s#$MOD#$LEAN_MOD#g" <<<"$M")
# Only the generated files: wire_test.go (the differential test) lives here.
mkdir -p "$LEAN_OUT"; find "$LEAN_OUT" -name "*.pb.go" -delete
# Task v2's shim.proto differs from v3's only in its package name, and the
# shim serves both services with v3's messages: no lean v2 code.
LEAN_FILES=$(tr -s ' \n' '\n' <<<"$FILES" | grep -v '^runtime/task/v2/' | tr '\n' ' ')
# shellcheck disable=SC2086
protoc -I "$SRC" -I /usr/include \
  --slrt_out="$LEAN_OUT" --slrt_opt="module=$LEAN_MOD,$LM" \
  $LEAN_FILES $WKT
# The ttrpc framing's own messages (shim/internal/ttrpc/wire.proto, ours).
protoc -I shim/internal/ttrpc -I /usr/include \
  --slrt_out=shim/internal/ttrpc --slrt_opt="paths=source_relative,M$(cut -d, -f1 <<<"$LM" | sed 's/^M//')" \
  wire.proto

# The same acronym fixups containerd applies (ID, IO, ...), so names match
# containerd/api's and code reads the same.
go-fix-acronym -w -a '^Os' $(find "$OUT" "$LEAN_OUT" -name '*.pb.go')
go-fix-acronym -w -a '(Id|Io|Uuid|Os)$' $(find "$OUT" "$LEAN_OUT" -name '*.pb.go')
cat > "$OUT/doc.go" <<DOC
// Package api holds Go code generated by hack/proto.sh (make proto) from
// github.com/containerd/containerd/api@$API_VERSION's .proto files: ttrpc
// services only, no gRPC, and never linked together with containerd/api;
// types/cgroups/v1 and v2 from github.com/containerd/cgroups/v3@$CGROUPS_VERSION's
// metrics.proto (proto package renamed, wire format unchanged).
package api
DOC
cat > "$LEAN_OUT/doc.go" <<DOC
// Package pb holds the same messages as shim/internal/api as plain Go structs
// with their own wire encoding (hack/protoc-gen-slrt), generated by
// hack/proto.sh (make proto) from the same .proto files; wkt holds the
// well-known types they use. Nothing here links protobuf-go's runtime.
package pb
DOC
gofmt -l "$OUT" "$LEAN_OUT" shim/internal/ttrpc | xargs -r gofmt -w
echo "generated into $OUT from containerd/api $API_VERSION"
