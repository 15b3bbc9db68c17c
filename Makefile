# slrt build. The init helper is built first (static, no cgo) and embedded
# into the binaries that spawn containers.
GO       ?= go
BUILD    ?= build
GOFLAGS  ?= -trimpath
LDFLAGS  ?= -s -w
INIT_BIN := runtime/inithelper/bin/slrt-init
GO_SRC   := $(shell find . -name '*.go' -not -path './build/*') go.mod

.PHONY: all build init test test-unit vet image demo clean

all: build

build: $(BUILD)/slrt

init: $(INIT_BIN)

$(INIT_BIN): $(GO_SRC)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -ldflags '$(LDFLAGS)' -o $@ ./cmd/slrt-init

$(BUILD)/slrt: $(INIT_BIN) $(GO_SRC)
	@mkdir -p $(BUILD)
	$(GO) build $(GOFLAGS) -ldflags '$(LDFLAGS)' -o $@ ./cmd/slrt

vet: $(INIT_BIN)
	$(GO) vet ./...

test: $(INIT_BIN) $(BUILD)/slrt image
	$(GO) vet ./...
	SLRT_BIN=$(abspath $(BUILD)/slrt) SLRT_IMAGE=$(abspath $(BUILD)/busybox) $(GO) test -count=1 -p 1 ./...

test-unit: $(INIT_BIN)
	$(GO) test -count=1 -short ./...

clean:
	rm -rf $(BUILD) $(INIT_BIN)
