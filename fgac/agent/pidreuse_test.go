package agent

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/internal/testutil"
)

// TestPidReuse: the caller is killed while the agent handles its mount,
// and its pid is handed to another process (an impostor in a mount
// namespace of its own, chrooted into a tree that has /mnt/a) before the
// agent opens /proc/PID, or after it opened everything and right before it
// acts. Either way the agent must not act on the impostor: the
// notification is no longer valid (ID_VALID), and what it opened names the
// dead caller, not the number. The impostor's mounts stay as they were.
func TestPidReuse(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(func(pid int))
	}{
		{"before open", func(f func(int)) { testHookBeforeOpen = f }},
		{"before act", func(f func(int)) { testHookBeforeAct = func(pid, _ int) { f(pid) } }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			root := filepath.Join(testutil.Bundle(t, "true"), "rootfs")
			if err := os.MkdirAll(filepath.Join(root, "mnt/a"), 0o755); err != nil {
				t.Fatal(err)
			}
			var impostor *exec.Cmd
			done := make(chan struct{})
			tc.hook(func(pid int) {
				defer close(done)
				unix.Kill(pid, unix.SIGKILL)
				if !gone(pid, 5*time.Second) {
					t.Errorf("caller %d not reaped 5s after SIGKILL", pid)
					return
				}
				impostor = takePid(t, pid, root)
			})
			t.Cleanup(func() { testHookBeforeOpen, testHookBeforeAct = nil, nil })
			t.Cleanup(func() {
				if impostor != nil {
					impostor.Process.Kill()
					impostor.Wait()
				}
			})
			b := e.bundle(360000, scratch, e.withProfile, "fgacprobe mount /mnt/a; echo rc=$?")
			out := e.run("fgac-reuse", b)
			wantLines(t, "container", out, "rc=137\n")
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the agent never reached the hook")
			}
			if impostor == nil {
				t.Skip("could not hand the caller's pid to another process (the busy host took it first)")
			}
			t.Logf("the caller's pid %d went to the impostor", impostor.Process.Pid)
			mi, err := os.ReadFile("/proc/" + strconv.Itoa(impostor.Process.Pid) + "/mountinfo")
			if err != nil {
				t.Fatalf("impostor: %v", err)
			}
			if strings.Contains(string(mi), " /mnt/a ") {
				t.Errorf("the agent mounted on the impostor that got the caller's pid:\n%s", mi)
			}
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(e.logText(), "caller gone") && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if log := e.logText(); !strings.Contains(log, "caller gone") || strings.Contains(log, "mounted") {
				t.Errorf("agent log:\n%s", log)
			}
		})
	}
}

// gone waits until pid no longer exists (reaped).
func gone(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			return true
		}
	}
	return false
}

// takePid starts an impostor — `unshare -m chroot ROOT sleep`, in a mount
// namespace of its own with /mnt/a in its root — and tries to give it pid
// (ns_last_pid = pid-1 right before the fork; other processes on the host
// may take it first, so a few tries). It returns the impostor once it
// sleeps in its own mount namespace, or nil when it did not get pid. It
// runs on the agent's goroutine: errors are t.Errorf.
func takePid(t *testing.T, pid int, root string) *exec.Cmd {
	own, _ := os.Readlink("/proc/self/ns/mnt")
	for try := 0; try < 50; try++ {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0); err != nil {
			t.Errorf("ns_last_pid: %v", err)
			return nil
		}
		cmd := exec.Command("unshare", "--mount", "--propagation", "private", "chroot", root, "/bin/sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Errorf("impostor: %v", err)
			return nil
		}
		if cmd.Process.Pid != pid {
			cmd.Process.Kill()
			cmd.Wait()
			continue
		}
		p := "/proc/" + strconv.Itoa(pid)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			exe, _ := os.Readlink(p + "/exe")
			ns, _ := os.Readlink(p + "/ns/mnt")
			if strings.HasSuffix(exe, "/bin/busybox") && ns != own {
				return cmd
			}
		}
		t.Errorf("impostor %d never reached sleep in its own mount namespace", pid)
		return cmd
	}
	return nil
}
