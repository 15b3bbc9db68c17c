#!/bin/bash
# check-deps.sh fails when a binary under ./cmd links what DESIGN §3 keeps out:
#   - github.com/containerd/containerd/api (and so anything importing it): it
#     registers the same proto file paths as shim/internal/api, and a second
#     registration panics at start; it also carries gRPC stubs;
#   - the gRPC transport (google.golang.org/grpc and its packages), +6 MB.
#     ttrpc itself uses grpc's status and codes packages for error details;
#     those (and their small internal deps) are allowed by name.
set -euo pipefail
cd "$(dirname "$0")/.."
allowed='^google\.golang\.org/grpc/(codes|status|internal/status|internal|grpclog|grpclog/internal|connectivity|serviceconfig)$'
deps=$(go list -deps ./cmd/...)
bad=$( { grep -E '^github\.com/containerd/containerd/api(/|$)' <<<"$deps" || true;
         grep -E '^google\.golang\.org/grpc(/|$)' <<<"$deps" | grep -Ev "$allowed" || true; } )
if [ -n "$bad" ]; then
  echo "check-deps: ./cmd/... must not link these (DESIGN §3):" >&2
  echo "$bad" | sed 's/^/  /' >&2
  for p in $bad; do
    echo "  $p is imported by: $(go list -deps -f '{{.ImportPath}} {{join .Imports " "}}' ./cmd/... |
      awk -v p="$p" '{for (i = 2; i <= NF; i++) if ($i == p) print $1}' | tr '\n' ' ')" >&2
  done
  exit 1
fi
echo "check-deps: ok ($(wc -l <<<"$deps") packages)"
