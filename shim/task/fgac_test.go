package task

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/fgac/policy"
	"github.com/slrt/slrt/shim/internal/ttrpc"
)

// TestFGACSpecCodes: the FGAC hook's errors reach containerd with the code
// that says whose fault they are: the pod's (PermissionDenied, or
// InvalidArgument for a spec with a listener of its own) or the node's
// (FailedPrecondition: no valid policy).
func TestFGACSpecCodes(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "fgac.json")
	os.WriteFile(pol, []byte(`{"profiles": [{"name": "scratch", "namespaces": ["edge"],
	  "rules": [{"mount": {"fstype": "tmpfs", "targets": ["/mnt/*"], "maxSize": "1M"}}]}]}`), 0o600)
	t.Setenv("SLRT_FGAC_SOCKET", "/run/test-fgac.sock")
	for _, tc := range []struct {
		name, policy, ns string
		listener         string
		want             ttrpc.Code
	}{
		{"allowed", pol, "edge", "", ttrpc.OK},
		{"namespace not listed", pol, "default", "", ttrpc.PermissionDenied},
		{"no policy on the node", filepath.Join(dir, "missing.json"), "edge", "", ttrpc.FailedPrecondition},
		{"a listener of its own", pol, "edge", "/run/other.sock", ttrpc.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SLRT_FGAC_POLICY", tc.policy)
			s := specs.Spec{Version: specs.Version, Annotations: map[string]string{policy.ProfileAnnotation: "scratch", policy.NamespaceAnnotation: tc.ns}}
			if tc.listener != "" {
				s.Linux = &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: tc.listener}}
			}
			bundle := t.TempDir()
			b, _ := json.Marshal(&s)
			os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o600)
			got, err := fgacSpec(bundle)
			if c := ttrpc.CodeOf(toStatus(err)); c != tc.want {
				t.Errorf("code %v (%v), want %v", c, err, tc.want)
			}
			if tc.want == ttrpc.OK && (got == nil || got.Linux.Seccomp.ListenerPath != "/run/test-fgac.sock") {
				t.Errorf("spec %+v, want the agent's socket from $SLRT_FGAC_SOCKET", got)
			}
		})
	}
}
