package process

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// fakeProc points the LSM writes at a directory laid out like procfs's
// attr files for the calling thread, with the given attr names.
func fakeProc(t *testing.T, names ...string) string {
	t.Helper()
	root := t.TempDir()
	attr := filepath.Join(root, fmt.Sprint(unix.Gettid()), "attr")
	for _, n := range names {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(attr, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(attr, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	oldRoot, oldCheck := procRoot, isProcfs
	procRoot, isProcfs = root, func(int) error { return nil }
	t.Cleanup(func() { procRoot, isProcfs = oldRoot, oldCheck })
	return attr
}

func TestApplyLSM(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files []string
		plan  channel.ProcessPlan
		want  map[string]string
	}{
		{"apparmor, per-LSM attr dir", []string{"apparmor/exec", "exec"}, channel.ProcessPlan{ApparmorProfile: "slrt-default"},
			map[string]string{"apparmor/exec": "exec slrt-default", "exec": ""}},
		{"apparmor, legacy attr", []string{"exec"}, channel.ProcessPlan{ApparmorProfile: "p"},
			map[string]string{"exec": "exec p"}},
		{"selinux", []string{"apparmor/exec", "exec"}, channel.ProcessPlan{SelinuxLabel: "system_u:system_r:container_t:s0:c1,c2"},
			map[string]string{"apparmor/exec": "", "exec": "system_u:system_r:container_t:s0:c1,c2"}},
		{"nothing asked", []string{"exec"}, channel.ProcessPlan{}, map[string]string{"exec": ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lockThread(t)
			attr := fakeProc(t, tt.files...)
			if err := applyLSM(&tt.plan); err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				b, err := os.ReadFile(filepath.Join(attr, name))
				if err != nil || string(b) != want {
					t.Errorf("%s = %q (%v), want %q", name, b, err, want)
				}
			}
		})
	}
}

// TestApplyLSMRefusesRedirects: a symlink where an attr file should be
// (a container-made /proc) is not followed, and a fake procfs is refused
// by the real check.
func TestApplyLSMRefusesRedirects(t *testing.T) {
	lockThread(t)
	attr := fakeProc(t)
	if err := os.MkdirAll(attr, 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(attr, "exec")); err != nil {
		t.Fatal(err)
	}
	err := applyLSM(&channel.ProcessPlan{SelinuxLabel: "x"})
	if err == nil {
		t.Fatal("wrote through a symlink")
	}
	if b, _ := os.ReadFile(victim); len(b) != 0 {
		t.Errorf("the symlink's target got %q", b)
	}

	isProcfs = func(fd int) error { return realIsProcfs(fd) }
	err = applyLSM(&channel.ProcessPlan{ApparmorProfile: "p"})
	if err == nil || !strings.Contains(err.Error(), "not on procfs") {
		t.Errorf("fake procfs: %v, want a refusal", err)
	}
}

var realIsProcfs = isProcfs

func lockThread(t *testing.T) {
	// The attr files are the calling thread's: stay on one.
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}
