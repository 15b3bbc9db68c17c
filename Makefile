# slrt build. The init helper is built first (static C) and embedded
# into the binaries that spawn containers.
GO       ?= go
BUILD    ?= build
GOFLAGS  ?= -trimpath
LDFLAGS  ?= -s -w
INIT_BIN := runtime/inithelper/bin/slrt-init
NSENTER_BIN := runtime/inithelper/bin/slrt-nsenter
CC       ?= gcc
GO_SRC   := $(shell find . -name '*.go' -not -path './build/*') go.mod

.PHONY: all build init test test-unit vet image demo demo-cli clean deps

all: build

build: $(BUILD)/slrt $(BUILD)/slrt-installer

init: $(INIT_BIN) $(NSENTER_BIN)

# The init (cmd/slrt-init) is C, static with musl: ~100 KB, and no Go
# runtime to start in every container (page faults, CPU, the RSS of a parked
# shell). It follows the Plan of runtime/channel step for step.
INIT_SRC := $(wildcard cmd/slrt-init/*.c cmd/slrt-init/*.h)
MUSL_CC  ?= musl-gcc
INIT_CFLAGS ?= -std=gnu11 -static -Os -s -Wall -Wextra -Werror -fno-asynchronous-unwind-tables

$(INIT_BIN): $(INIT_SRC) $(NSENTER_BIN)
	$(MUSL_CC) $(INIT_CFLAGS) -o $@ $(filter %.c,$(INIT_SRC))

# Freestanding (no libc): a few kilobytes, nothing done at start-up.
$(NSENTER_BIN): cmd/slrt-nsenter/nsenter.c
	$(CC) -Os -static -nostdlib -ffreestanding -fno-stack-protector -fno-builtin -Wall -Wextra -Werror -s -o $@ $<

# build/slrt is pure Go (runtime/seccomp compiles profiles itself, no
# libseccomp): CGO_ENABLED=0 links it static, so the binary an installer
# copies to a node runs there whatever its libc. `go test` may still use
# cgo (runtime/seccomp's tests check verdicts against libseccomp).
$(BUILD)/slrt: $(INIT_BIN) $(GO_SRC)
	@mkdir -p $(BUILD)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -ldflags '$(LDFLAGS)' -o $@ ./cmd/slrt

# The node installer the chart's image runs (k8s/installer, k8s/nodelabel):
# its HTTPS client and TOML parser stay out of slrt and the shim
# (hack/check-deps.sh). Pure Go, so CGO_ENABLED=0 links it static.
$(BUILD)/slrt-installer: $(GO_SRC)
	@mkdir -p $(BUILD)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -ldflags '$(LDFLAGS)' -o $@ ./cmd/slrt-installer

vet: $(INIT_BIN)
	$(GO) vet ./...

test: $(INIT_BIN) $(BUILD)/slrt image
	$(GO) vet ./...
	SLRT_BIN=$(abspath $(BUILD)/slrt) SLRT_IMAGE=$(abspath $(BUILD)/busybox) $(GO) test -count=1 -p 1 ./...

test-unit: $(INIT_BIN)
	$(GO) test -count=1 -short ./...

clean:
	rm -rf $(BUILD) $(INIT_BIN) $(NSENTER_BIN)

# The busybox image every integration test and the demo use: $(BUILD)/busybox
# holds rootfs/, config.json and busybox-oci.tar (for containerd). Built
# offline from Debian's busybox-static; a no-op when nothing changed.
image:
	images/busybox/build.sh $(BUILD)/busybox
	images/busybox/oci.sh $(BUILD)/busybox

# `make demo` runs a container through containerd with slrt: a private
# containerd 2.4.2 (built once from the Go module proxy by
# test/e2e/tools.sh into ~/.cache/slrt/tools: several minutes the first
# time, cached after), the runtime io.containerd.slrt.v2 (the shim), the
# bundled busybox image imported with `ctr images import`, then
# `ctr run --rm --runtime io.containerd.slrt.v2`. containerd is stopped and
# everything it made removed at the end; the exit code is the container's.
#
# `make demo-cli` runs the image's process ("hello from slrt") with the
# daemon-less CLI, `slrt run`. State goes under /run (tmpfs on a normal
# host: nothing is written to disk during a container's life); the
# container is removed even when run fails.
DEMO_ROOT ?= /run/slrt-demo

# Debian packages the build and tests need (only the missing ones).
deps:
	bash .ci/deps

demo: deps build shim image
	test/e2e/demo.sh

demo-cli: deps build image
	@mkdir -p $(DEMO_ROOT)
	id=demo-$$$$; \
	$(BUILD)/slrt --root $(DEMO_ROOT) run --bundle $(abspath $(BUILD)/busybox) $$id; rc=$$?; \
	$(BUILD)/slrt --root $(DEMO_ROOT) delete --force $$id >/dev/null 2>&1; \
	exit $$rc

# --- containerd shim (issue 4) ---------------------------------------------
# `make proto` regenerates shim/internal/api from containerd/api's .proto
# files (committed; needs protoc). `make shim` builds the shim binary,
# `make check-deps` keeps containerd/api and gRPC out of ./cmd (also run by
# go test ./shim/...).
SHIM_BIN := $(BUILD)/containerd-shim-slrt-v2

.PHONY: proto shim check-deps

proto:
	hack/proto.sh

shim: $(SHIM_BIN)

# Pure Go and static like build/slrt.
$(SHIM_BIN): $(INIT_BIN) $(GO_SRC)
	@mkdir -p $(BUILD)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -ldflags '$(LDFLAGS)' -o $@ ./cmd/containerd-shim-slrt-v2

check-deps:
	hack/check-deps.sh

# Benchmarks: slrt side by side with runc and crun (bench/bench.sh, as
# root). `bench` (~10 min) writes bench/results/REPORT.md and PNG plots;
# `bench-smoke` (~1 min, for CI) writes build/bench-smoke/ and fails only on
# errors, never on timings.
.PHONY: bench bench-smoke
bench: build shim image
	bench/bench.sh

bench-smoke: build shim image
	bench/bench.sh --smoke

# --- end-to-end tests through real containerd (test/e2e) -------------------
# `make e2e` builds (once, cached in ~/.cache/slrt/tools; $SLRT_TOOLS moves
# it) containerd + ctr from the Go module proxy, starts a private containerd
# (test/e2e/containerd.sh: own root, state, sockets and mount namespace) with
# the runtime io.containerd.slrt.v2, and drives the shim with ctr: run --rm
# exit codes and stdin, exec, ps, kill, pause/resume, metrics, tty, OOM,
# events, pod grouping, the bootstrap reply (DESIGN §1). Each test checks
# nothing is left (tasks, containers, snapshots, shims, mounts, cgroups).
# E2E_CONTAINERD lists the daemons: 2.4.2 (default), 1.7.35 (built too),
# 2.2.9 (built), 1.6 (Debian 12's package, unpacked, not installed).
#
# CRI (issue 5): with E2E_CRI=1 (the default) each daemon runs with its CRI
# plugin on (containerd.sh SLRT_CRI=1: handlers sl and runc, a CNI bridge
# kept on the machine, offline images), so the CRI API tests run beside the
# ctr tests; then `make e2e-cri` runs critest (test/e2e/critest.sh) with
# handler sl and, for comparison, runc, against each of
# E2E_CRITEST_CONTAINERD (empty: none). tools.sh builds crictl, critest,
# ginkgo and crane once (~4 min cold) into the same tools folder.
E2E_CONTAINERD ?= 2.4.2
E2E_CRI ?= 1
E2E_CRITEST_CONTAINERD ?= 2.4.2
.PHONY: e2e e2e-tools e2e-cri
e2e-tools:
	test/e2e/tools.sh $(E2E_CONTAINERD) $(if $(filter 1,$(E2E_CRI)),cri)

e2e: shim image e2e-tools
	@set -e; for v in $(E2E_CONTAINERD); do \
		echo "==> e2e against containerd $$v"; \
		SLRT_E2E=1 SLRT_CRI=$(E2E_CRI) SLRT_CONTAINERD=$$v SLRT_SHIM=$(abspath $(SHIM_BIN)) \
		SLRT_IMAGE_TAR=$(abspath $(BUILD)/busybox/busybox-oci.tar) \
		$(GO) test -count=1 -p 1 -v ./test/e2e/; \
	done
	@if [ "$(E2E_CRI)" = 1 ]; then $(MAKE) --no-print-directory e2e-cri; fi

e2e-cri: shim
	@set -e; for v in $(E2E_CRITEST_CONTAINERD); do \
		test/e2e/tools.sh $$v cri >/dev/null; \
		echo "==> critest against containerd $$v (handlers sl and runc)"; \
		SLRT_CONTAINERD=$$v SLRT_SHIM=$(abspath $(SHIM_BIN)) test/e2e/critest.sh sl runc; \
	done

# Fuzzing (go test -fuzz): each target runs for FUZZTIME. Plain `go test`,
# and so `make test`, runs only their committed seed corpora
# (testdata/fuzz/<target>/ beside each package) and in-code seeds; inputs
# a run finds failing are written there too, to be committed with the fix.
FUZZTIME ?= 20s
# Minimizing every new interesting input can outlast a short FUZZTIME and
# end the run with "context deadline exceeded"; CI passes 0s.
FUZZMINIMIZE ?= 60s
FUZZ_TARGETS := ./runtime/channel:FuzzDecode ./runtime/container:FuzzConfig ./runtime/seccomp:FuzzCompile ./cmd/slrt:FuzzStartProcess
.PHONY: fuzz
fuzz: $(INIT_BIN)
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; \
	done

# --- Kubernetes: node installer and chart (issue 7) -------------------------
# `make chart-check` builds helm (once, cached beside containerd in the tools
# folder; several minutes the first time) from the Go module proxy, then runs
# the installer's tests (real containerd loads each patched config when
# tools.sh has built it) and helm lint + helm template of charts/slrt over
# several values sets, each rendered manifest checked by k8s/chartcheck.
.PHONY: k8s-tools chart-check e2e-k8s
k8s-tools:
	test/e2e/k8s-tools.sh helm

chart-check: k8s-tools
	$(GO) test -count=1 ./k8s/...

# `make e2e-k8s` (as root): charts/slrt on a real single-node Kubernetes
# v1.34.4 (etcd, apiserver, controller-manager, scheduler, kubelet as plain
# processes, CRI to a private containerd 2.4.2), test/e2e/k8s.sh: helm
# install, pods on RuntimeClass sl, helm uninstall restoring the node's
# containerd config byte for byte. The tools are built once from the Go
# module proxy (~15-25 min cold on 2 cores, cached after); a run takes ~2 min.
e2e-k8s: build shim image
	test/e2e/tools.sh 2.4.2 >/dev/null
	test/e2e/k8s-tools.sh helm etcd kubernetes runc-shim >/dev/null
	test/e2e/k8s.sh run
