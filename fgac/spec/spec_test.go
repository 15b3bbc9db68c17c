package spec

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/fgac/policy"
	"github.com/slrt/slrt/runtime/seccomp"
)

const pol = `{"profiles": [{"name": "scratch", "namespaces": ["edge"], "rules": [
  {"mount": {"fstype": "tmpfs", "targets": ["/mnt/*"], "maxSize": "1M"}},
  {"mknod": {"devices": ["c 1:3"], "targets": ["/dev/*"]}}]}]}`

func actionOf(sc *specs.LinuxSeccomp, name string) []specs.LinuxSeccompAction {
	var out []specs.LinuxSeccompAction
	for _, r := range sc.Syscalls {
		if slices.Contains(r.Names, name) {
			out = append(out, r.Action)
		}
	}
	return out
}

// TestApplyRuntimeDefault merges into a Docker-like allow-list: mount moves
// from nowhere (denied by default) to notify, mknod's allow rule is split
// by file type beside the device-node notify rules, the new mount API answers ENOSYS,
// the input spec is unchanged, and the result compiles.
func TestApplyRuntimeDefault(t *testing.T) {
	b, err := os.ReadFile("../../runtime/seccomp/testdata/default.json")
	if err != nil {
		t.Fatal(err)
	}
	var def specs.LinuxSeccomp
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	before := len(def.Syscalls[0].Names)
	p, err := policy.Parse("p.json", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	s := &specs.Spec{Linux: &specs.Linux{Seccomp: &def}, Annotations: map[string]string{
		policy.ProfileAnnotation: "scratch", policy.NamespaceAnnotation: "edge"}}
	ok, err := FromAnnotations(s, p, "/run/x.sock")
	if !ok || err != nil {
		t.Fatalf("FromAnnotations = %v, %v", ok, err)
	}
	sc := s.Linux.Seccomp
	if sc.ListenerPath != "/run/x.sock" || sc.ListenerMetadata != "scratch" || sc.DefaultAction != specs.ActErrno {
		t.Errorf("seccomp = %+v", sc)
	}
	for name, want := range map[string]string{
		"mount":   "SCMP_ACT_NOTIFY",
		"mknodat": "SCMP_ACT_NOTIFY SCMP_ACT_NOTIFY SCMP_ACT_ALLOW SCMP_ACT_ALLOW SCMP_ACT_ALLOW SCMP_ACT_ALLOW",
		"fsopen":  "SCMP_ACT_ERRNO",
		"getpid":  "SCMP_ACT_ALLOW",
	} {
		var got []string
		for _, a := range actionOf(sc, name) {
			got = append(got, string(a))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: actions %v, want %s", name, got, want)
		}
	}
	if len(def.Syscalls[0].Names) != before || def.ListenerPath != "" {
		t.Error("Apply changed the spec's original profile")
	}
	prog, err := seccomp.Compile(sc)
	if err != nil || !prog.Notify {
		t.Fatalf("compile: %v", err)
	}
}

func TestApplyErrors(t *testing.T) {
	p, _ := policy.Parse("p.json", []byte(pol))
	s := &specs.Spec{}
	if ok, err := FromAnnotations(s, p, DefaultSocket); ok || err != nil || s.Linux != nil {
		t.Errorf("no annotation: %v %v %+v", ok, err, s.Linux)
	}
	s.Annotations = map[string]string{policy.ProfileAnnotation: "scratch", policy.NamespaceAnnotation: "default"}
	if _, err := FromAnnotations(s, p, DefaultSocket); err == nil || !strings.Contains(err.Error(), `namespace "default" may not use`) {
		t.Errorf("wrong namespace: %v", err)
	}
	s = &specs.Spec{Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/other.sock"}}}
	if err := Apply(s, "scratch", []string{"mount"}, DefaultSocket); err == nil || !strings.Contains(err.Error(), "one listener") {
		t.Errorf("two listeners: %v", err)
	}
	s = &specs.Spec{}
	if err := Apply(s, "scratch", []string{"mount", "umount2"}, DefaultSocket); err != nil || s.Linux.Seccomp.DefaultAction != specs.ActAllow ||
		len(s.Linux.Seccomp.Syscalls) != 3 {
		t.Errorf("unconfined: %v %+v", err, s.Linux.Seccomp)
	}
}
