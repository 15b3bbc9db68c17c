#!/bin/bash
# check-deps.sh fails when a binary under ./cmd links what DESIGN §3 keeps out:
#   - github.com/containerd/containerd/api (and so anything importing it): it
#     registers the same proto file paths as shim/internal/api, and a second
#     registration panics at start; it also carries gRPC stubs;
#   - gRPC (google.golang.org/grpc, genproto), containerd's ttrpc and
#     protobuf-go's runtime (issue 6, ~2 MB of the shim): the shim speaks
#     ttrpc itself (shim/internal/ttrpc) with generated plain-struct
#     messages (hack/protoc-gen-slrt, shim/internal/pb) whose only protobuf
#     package is encoding/protowire (with its two tiny internal deps);
#     tests keep them all as oracles;
#   - github.com/containerd/cgroups and what it drags in (cilium/ebpf,
#     godbus, go-systemd, logrus through containerd/log): ~5 MB. runtime/cgroups
#     speaks cgroupfs itself; tests may still import containerd's metrics types
#     to check our encoding.
#   - libseccomp (github.com/seccomp/libseccomp-golang): runtime/seccomp
#     compiles profiles itself and the binaries are pure-Go static
#     (Makefile, CGO_ENABLED=0); libseccomp is only runtime/seccomp's test
#     oracle;
# and fails when cmd/slrt (the CLI) links protobuf at all: only the shim
# speaks protobuf; the engine's stats are plain Go types (~1 MB).
# The binaries a node runs (cmd/slrt, the shim) must not link the node
# installer's HTTPS client and TOML parser either (net/http, crypto/tls,
# crypto/x509, go-toml, k8s/...: ~3 MB of slrt's 10.9 MB, bench REPORT §4):
# those live in cmd/slrt-installer, which only the installer image carries.
set -euo pipefail
cd "$(dirname "$0")/.."
protowire='^google\.golang\.org/protobuf/(encoding/protowire|internal/detrand|internal/errors)$'
deps=$(go list -deps ./cmd/...)
bad=$( { grep -E '^github\.com/containerd/containerd/api(/|$)' <<<"$deps" || true;
         grep -E '^github\.com/(containerd/cgroups|cilium/ebpf|godbus/dbus|coreos/go-systemd)(/|$)' <<<"$deps" || true;
         grep -E '^github\.com/seccomp/libseccomp-golang(/|$)' <<<"$deps" || true;
         grep -E '^(google\.golang\.org/(grpc|genproto)|github\.com/containerd/ttrpc)(/|$)' <<<"$deps" || true;
         grep -E '^google\.golang\.org/protobuf(/|$)' <<<"$deps" | grep -Ev "$protowire" || true; } )
if [ -n "$bad" ]; then
  echo "check-deps: ./cmd/... must not link these (DESIGN §3):" >&2
  echo "$bad" | sed 's/^/  /' >&2
  for p in $bad; do
    echo "  $p is imported by: $(go list -deps -f '{{.ImportPath}} {{join .Imports " "}}' ./cmd/... |
      awk -v p="$p" '{for (i = 2; i <= NF; i++) if ($i == p) print $1}' | tr '\n' ' ')" >&2
  done
  exit 1
fi
cli=$(go list -deps ./cmd/slrt | grep -E '^google\.golang\.org/protobuf(/|$)' || true)
if [ -n "$cli" ]; then
  echo "check-deps: cmd/slrt must not link protobuf; it comes in through:" >&2
  go list -deps -f '{{.ImportPath}} {{join .Imports " "}}' ./cmd/slrt |
    awk '$1 !~ /^google\.golang\.org\/protobuf/ { for (i = 2; i <= NF; i++) if ($i ~ /^google\.golang\.org\/protobuf/) { print "  " $1; break } }' >&2
  exit 1
fi
node=$(go list -deps ./cmd/slrt ./cmd/containerd-shim-slrt-v2 |
  grep -E '^(net/http|crypto/tls|crypto/x509|github\.com/pelletier/go-toml|github\.com/slrt/slrt/k8s)(/|$)' || true)
if [ -n "$node" ]; then
  echo "check-deps: cmd/slrt and the shim must not link the installer's HTTPS/TOML code (it belongs in cmd/slrt-installer):" >&2
  echo "$node" | sed 's/^/  /' >&2
  for p in $node; do
    echo "  $p is imported by: $(go list -deps -f '{{.ImportPath}} {{join .Imports " "}}' ./cmd/slrt ./cmd/containerd-shim-slrt-v2 |
      awk -v p="$p" '{for (i = 2; i <= NF; i++) if ($i == p) print $1}' | sort -u | tr '\n' ' ')" >&2
  done
  exit 1
fi
echo "check-deps: ok ($(wc -l <<<"$deps") packages)"
