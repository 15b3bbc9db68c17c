package spec

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

func TestFeatures(t *testing.T) {
	f := Features()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back features.Features
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.OCIVersionMin != "1.0.0" || back.OCIVersionMax != specs.Version {
		t.Errorf("versions %q..%q", back.OCIVersionMin, back.OCIVersionMax)
	}
	if err := CheckVersion(back.OCIVersionMax); err != nil {
		t.Errorf("Load would refuse our own max version: %v", err)
	}
	l := back.Linux
	if l == nil {
		t.Fatal("no linux section")
	}
	for _, want := range []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE"} {
		if !slices.Contains(l.Capabilities, want) {
			t.Errorf("capabilities lack %s", want)
		}
	}
	for _, want := range []string{"user", "mount", "cgroup", "time"} {
		if !slices.Contains(l.Namespaces, want) {
			t.Errorf("namespaces lack %s", want)
		}
	}
	// Default()'s own mount options must all be ones we claim, except the
	// filesystem data options the kernel interprets.
	data := map[string]bool{"mode=755": true, "size=65536k": true, "newinstance": true, "ptmxmode=0666": true,
		"mode=0620": true, "gid=5": true, "mode=1777": true}
	for _, m := range Default().Mounts {
		for _, o := range m.Options {
			if !data[o] && !slices.Contains(back.MountOptions, o) {
				t.Errorf("default mount %s uses %q, missing from mountOptions", m.Destination, o)
			}
		}
	}
	if !slices.IsSorted(back.MountOptions) {
		t.Error("mountOptions not sorted")
	}
	// Every part is answered: nil would mean "unknown".
	if l.Cgroup == nil || l.Seccomp == nil || l.Seccomp.Enabled == nil || l.Apparmor == nil || l.Selinux == nil ||
		l.IntelRdt == nil || l.MountExtensions == nil || l.MountExtensions.IDMap == nil || l.NetDevices == nil {
		t.Errorf("unanswered linux features: %s", b)
	}
	if *l.Seccomp.Enabled {
		for _, fl := range l.Seccomp.SupportedFlags {
			if !slices.Contains(l.Seccomp.KnownFlags, fl) {
				t.Errorf("supported seccomp flag %s is not a known one", fl)
			}
		}
		if !slices.Contains(l.Seccomp.SupportedFlags, "SECCOMP_FILTER_FLAG_LOG") {
			t.Errorf("kernel probe found none of the common flags: %v", l.Seccomp.SupportedFlags)
		}
	}
	for k := range back.Annotations {
		if len(k) < 8 || k[:8] != "io.slrt." {
			t.Errorf("annotation %q outside io.slrt.*", k)
		}
	}
}
