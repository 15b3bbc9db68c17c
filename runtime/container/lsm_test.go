package container_test

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/apparmor"
	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/runtime/selinux"
)

// TestLSMOnHostWithout: on a host without AppArmor or SELinux, a profile
// or process label fails the create, naming the field (runc refuses both
// too), while linux.mountLabel is ignored and the container runs.
func TestLSMOnHostWithout(t *testing.T) {
	if apparmor.Enabled() || selinux.Enabled() {
		t.Skip("this host enforces an LSM; the test covers hosts without")
	}
	e := newEnv(t)
	for _, tt := range []struct {
		name string
		edit func(*specs.Spec)
		want string
	}{
		{"apparmor", func(s *specs.Spec) { s.Process.ApparmorProfile = "slrt-default" },
			`process.apparmorProfile "slrt-default": AppArmor is not enabled on this host`},
		{"selinux", func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" },
			`process.selinuxLabel "system_u:system_r:container_t:s0": SELinux is disabled or not supported on this host`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := container.Create(e.root, container.CreateOpts{ID: "lsm", Bundle: bundleWith(t, tt.edit, "true")})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("create: %v, want %q", err, tt.want)
			}
		})
	}
	b := bundleWith(t, func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:container_file_t:s0:c1,c2" },
		"sh", "-c", "grep -c context= /proc/self/mountinfo")
	res := e.run("mountlabel", b, nil)
	if strings.TrimSpace(res.out) != "0" {
		t.Errorf("mountinfo context= lines = %q (exit %+v), want 0: the label is ignored without SELinux", res.out, res.status)
	}
}
