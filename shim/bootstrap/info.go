package bootstrap

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/slrt/slrt/runtime/spec"
	"github.com/slrt/slrt/shim/internal/pb/types"
	"github.com/slrt/slrt/shim/internal/pb/wkt"
)

// RuntimeType is the name containerd knows the shim by.
const RuntimeType = "io.containerd.slrt.v2"

// Version and Revision are set at link time (-X).
var (
	Version  = "dev"
	Revision = ""
)

// featuresURL is containerd's typeurl name for runtime-spec features JSON.
const featuresURL = "types.containerd.io/opencontainers/runtime-spec/1/features/Features"

// Info is `-info`: a protobuf RuntimeInfo (containerd 2.0–2.2 run it on
// every create).
func Info() ([]byte, error) {
	feat, err := json.Marshal(spec.Features())
	if err != nil {
		return nil, err
	}
	return (&types.RuntimeInfo{
		Name:     RuntimeType,
		Version:  &types.RuntimeVersion{Version: Version, Revision: Revision},
		Features: &wkt.Any{TypeUrl: featuresURL, Value: feat},
	}).Marshal()
}

// PrintVersion is `-v`, in the layout of containerd's own shims.
func PrintVersion(w io.Writer, name string) {
	fmt.Fprintf(w, "%s:\n  Version:  %s\n  Revision: %s\n  Go version: %s\n\n", name, Version, Revision, runtime.Version())
}
