package task

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestShareRootfs: a rootfs mounted after a process made its own mount
// namespace (private: nothing propagates) is attached at the same path
// there; a second call finds it and does nothing.
func TestShareRootfs(t *testing.T) {
	if testing.Short() || os.Getuid() != 0 {
		t.Skip("needs root (mounts, setns)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1)")
	}
	rootfs := filepath.Join(t.TempDir(), "bundle", "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	// the stand-in for a parked shell: its own private mount namespace
	shell := exec.Command("unshare", "--mount", "--propagation", "private", "sleep", "100")
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		shell.Process.Kill()
		shell.Wait()
	}()
	self, _ := os.Readlink("/proc/self/ns/mnt")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", shell.Process.Pid)); ns != "" && ns != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare did not make a mount namespace")
		}
	}
	if err := unix.Mount("tmpfs", rootfs, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(rootfs, unix.MNT_DETACH)
	if err := os.WriteFile(filepath.Join(rootfs, "marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	inShell := fmt.Sprintf("/proc/%d/root%s/marker", shell.Process.Pid, rootfs)
	if _, err := os.Stat(inShell); err == nil {
		t.Fatal("the mount propagated: the test proves nothing")
	}
	for i := 0; i < 2; i++ {
		if err := shareRootfs(rootfs, shell.Process.Pid); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if _, err := os.Stat(inShell); err != nil {
			t.Fatalf("call %d: rootfs not visible in the shell's namespace: %v", i, err)
		}
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", shell.Process.Pid))
	if n := countMounts(string(b), rootfs); n != 1 {
		t.Errorf("%d mounts on %s in the shell's namespace, want 1", n, rootfs)
	}
	if err := shareRootfs("", shell.Process.Pid); err != nil {
		t.Errorf("no rootfs: %v", err)
	}
}

func countMounts(mountinfo, target string) int {
	n := 0
	for _, l := range strings.Split(mountinfo, "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == target {
			n++
		}
	}
	return n
}
