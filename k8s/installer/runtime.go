// Package installer puts slrt on a Kubernetes node: it copies the binaries
// into the host's bin dir and registers the RuntimeClass handler "sl" with
// the node's containerd (plain containerd 1.7/2.x, or the containerd embedded
// in k3s), and takes exactly that back out again on uninstall.
//
// Every change is planned in memory first, checked (the edited TOML must
// parse, and must mean what the old file meant plus our runtime and nothing
// else), and only then written, each file through a temp file and a rename.
// An unexpected input (unparsable TOML, an "sl" runtime someone else wrote,
// a read-only file) is an error that leaves every file as it was.
package installer

import (
	"fmt"
	"strconv"
	"strings"
)

// Runtime is the CRI runtime entry the installer writes.
type Runtime struct {
	// Handler is the RuntimeClass handler: the key under
	// plugins.<cri>.containerd.runtimes.
	Handler string
	// Type is containerd's runtime_type; it names the shim binary
	// containerd-shim-slrt-v2 when RuntimePath is empty.
	Type string
	// Path is runtime_path: the shim binary as a host path.
	Path string
	// PodAnnotations are the annotation globs containerd passes to the shim
	// (DESIGN.md decision 8).
	PodAnnotations []string
}

// DefaultRuntime is what `slrt install` registers, with the shim in binDir.
func DefaultRuntime(binDir string) Runtime {
	return Runtime{
		Handler:        "sl",
		Type:           "io.containerd.slrt.v2",
		Path:           strings.TrimSuffix(binDir, "/") + "/" + ShimBinary,
		PodAnnotations: []string{"slrt.io/*"},
	}
}

// criPlugin is the plugin whose containerd.runtimes table holds runtime
// handlers: config version 2 (containerd 1.x, and 2.x migrating it) keeps
// them in the CRI gRPC plugin, version 3 and later in the CRI runtime plugin.
func criPlugin(version int64) string {
	if version >= 3 {
		return "io.containerd.cri.v1.runtime"
	}
	return "io.containerd.grpc.v1.cri"
}

// tablePath is the dotted path of the runtime's table, for messages and for
// looking it up in a decoded config.
func (r Runtime) tablePath(version int64) []string {
	return []string{"plugins", criPlugin(version), "containerd", "runtimes", r.Handler}
}

// table renders the runtime's TOML table (header and keys).
func (r Runtime) table(version int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[plugins.%s.containerd.runtimes.%s]\n", tomlString(criPlugin(version)), tomlKey(r.Handler))
	fmt.Fprintf(&b, "  runtime_type = %s\n", tomlString(r.Type))
	if r.Path != "" {
		fmt.Fprintf(&b, "  runtime_path = %s\n", tomlString(r.Path))
	}
	if len(r.PodAnnotations) > 0 {
		q := make([]string, len(r.PodAnnotations))
		for i, a := range r.PodAnnotations {
			q[i] = tomlString(a)
		}
		fmt.Fprintf(&b, "  pod_annotations = [%s]\n", strings.Join(q, ", "))
	}
	return b.String()
}

// matches reports whether a decoded runtime table holds exactly what this
// runtime writes (used to verify an edit, not to recognise ownership:
// ownership is the marker around what we wrote).
func (r Runtime) matches(t map[string]any) bool {
	if t["runtime_type"] != r.Type {
		return false
	}
	if p, _ := t["runtime_path"].(string); p != r.Path {
		return false
	}
	a, _ := t["pod_annotations"].([]any)
	if len(a) != len(r.PodAnnotations) {
		return false
	}
	for i := range a {
		if a[i] != r.PodAnnotations[i] {
			return false
		}
	}
	return len(t) == 1+btoi(r.Path != "")+btoi(len(r.PodAnnotations) > 0)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tomlString quotes s as a TOML basic string. strconv.Quote's escapes are a
// superset of TOML's except \x and \a-style ones, which it only uses for
// control and invalid bytes; those are written as \u escapes instead.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\u%04x", c)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlKey writes k bare when TOML allows it, quoted otherwise.
func tomlKey(k string) string {
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return tomlString(k)
		}
	}
	if k == "" {
		return strconv.Quote(k)
	}
	return k
}
