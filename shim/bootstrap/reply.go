// Package bootstrap is the part of the shim containerd runs as a command:
// `start` (find or launch the pod's shim daemon and tell containerd where it
// listens), `delete` (clean up after a shim that went away), `-v` and
// `-info`. Each containerd version speaks a different start protocol; what
// each sends and accepts was measured and is recorded in DESIGN.md §1.
package bootstrap

import (
	"encoding/json"
	"fmt"

	bootstrapapi "github.com/slrt/slrt/shim/internal/pb/runtime/bootstrap/v1"
	"github.com/slrt/slrt/shim/internal/pb/types"
	"github.com/slrt/slrt/shim/internal/pb/wkt"
)

// Format is how `start` answers containerd.
type Format int

const (
	// Plain is a bare "unix:///path" line: containerd 1.6 accepts only this.
	Plain Format = iota
	// JSONv2 is {"version":2,"address":…,"protocol":"ttrpc"}: containerd
	// 1.7–2.2 (they set MAX_SHIM_VERSION; 1.7 refuses version 3).
	JSONv2
	// ProtoV3 is a binary BootstrapResult (task API v3): containerd ≥ 2.3,
	// which sends a BootstrapParams on stdin. 2.0–2.2 fail on it.
	ProtoV3
)

func (f Format) String() string {
	return [...]string{"plain", "json-v2", "proto-v3"}[f]
}

// TaskAPIVersion is the task API version the reply announces.
const TaskAPIVersion = 3

// Choose picks the reply containerd will accept from what it sent: stdin
// and the MAX_SHIM_VERSION environment variable. A BootstrapParams counts
// only when its instance id and namespace match the -id and -namespace
// flags: older daemons write a runtime-options Any to stdin, and protobuf
// decodes that (or any bytes) as a BootstrapParams happily.
func Choose(stdin []byte, id, namespace, maxShimVersion string) (Format, *bootstrapapi.BootstrapParams) {
	if len(stdin) > 0 {
		var p bootstrapapi.BootstrapParams
		if (&p).Unmarshal(stdin) == nil && p.InstanceID == id && p.Namespace == namespace && id != "" {
			return ProtoV3, &p
		}
	}
	if maxShimVersion != "" {
		return JSONv2, nil
	}
	return Plain, nil
}

// mountCapabilitiesURL is the type of the BootstrapResult extension that
// tells containerd ≥ 2.4 it need not run `-info` on each create.
const mountCapabilitiesURL = "containerd.types.MountCapabilities"

// Encode renders the reply for address ("unix:///…") in format f.
func Encode(f Format, address string) ([]byte, error) {
	switch f {
	case ProtoV3:
		caps, err := (&types.MountCapabilities{}).Marshal()
		if err != nil {
			return nil, err
		}
		return (&bootstrapapi.BootstrapResult{
			Version:  TaskAPIVersion,
			Address:  address,
			Protocol: "ttrpc",
			Extensions: []*bootstrapapi.Extension{
				{Value: &wkt.Any{TypeUrl: mountCapabilitiesURL, Value: caps}},
			},
		}).Marshal()
	case JSONv2:
		return json.Marshal(struct {
			Version  int    `json:"version"`
			Address  string `json:"address"`
			Protocol string `json:"protocol"`
		}{2, address, "ttrpc"})
	case Plain:
		return []byte(address), nil
	}
	return nil, fmt.Errorf("unknown bootstrap reply format %d", f)
}
