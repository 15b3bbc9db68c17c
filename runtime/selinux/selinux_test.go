package selinux

import "testing"

func TestWithMountLabel(t *testing.T) {
	for _, tt := range []struct{ data, label, want string }{
		{"", "", ""},
		{"mode=755", "", "mode=755"},
		{"", "system_u:object_r:container_file_t:s0:c1,c2", `context="system_u:object_r:container_file_t:s0:c1,c2"`},
		{"mode=755,size=64k", "l", `mode=755,size=64k,context="l"`},
	} {
		if got := WithMountLabel(tt.data, tt.label); got != tt.want {
			t.Errorf("WithMountLabel(%q, %q) = %q, want %q", tt.data, tt.label, got, tt.want)
		}
	}
}

func TestEnabledWithoutSelinuxfs(t *testing.T) {
	old := mountPoints
	mountPoints = []string{t.TempDir()}
	t.Cleanup(func() { mountPoints = old })
	if Enabled() {
		t.Error("Enabled with no selinuxfs mounted")
	}
}
