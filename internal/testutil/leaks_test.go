package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recorder is a testing.TB whose errors are collected, not reported, so a
// test can check what Leaks says about a purpose-made leak.
type recorder struct {
	testing.TB
	name string
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Name() string {
	if r.name != "" {
		return r.name
	}
	return r.TB.Name()
}
func (r *recorder) Helper()        {}
func (r *recorder) Cleanup(func()) {} // the test calls the check itself
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

const testGrace = 200 * time.Millisecond

// expectLeak runs the leak check around makeLeak and wants exactly one
// report, containing want; undo then removes the leak, and a second check
// must report nothing.
func expectLeak(t *testing.T, stateRoot string, makeLeak func() (want string, undo func())) {
	t.Helper()
	rec := &recorder{TB: t}
	check := leaks(rec, stateRoot, testGrace)
	want, undo := makeLeak()
	check()
	undo()
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], want) {
		t.Errorf("leak reports = %q, want one naming %q", rec.errs, want)
	}

	// Undone, the same kind of resource made before the check is no leak.
	rec = &recorder{TB: t}
	check = leaks(rec, stateRoot, testGrace)
	check()
	if len(rec.errs) != 0 {
		t.Errorf("after cleaning up, leak reports = %q, want none", rec.errs)
	}
}

func TestLeaksFD(t *testing.T) {
	expectLeak(t, "", func() (string, func()) {
		f, err := os.Open("/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("fd %d -> /dev/null", f.Fd()), func() { f.Close() }
	})
}

// Children are started with syscall.ForkExec: os/exec also holds a pidfd
// until Wait, which would be a second (true) leak report.
func TestLeaksChild(t *testing.T) {
	expectLeak(t, "", func() (string, func()) {
		pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "60"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("child process %d (sleep)", pid), func() {
			var ws unix.WaitStatus
			unix.Kill(pid, unix.SIGKILL)
			unix.Wait4(pid, &ws, 0, nil)
		}
	})
}

// An exited child nobody waited for is reported as unreaped.
func TestLeaksZombie(t *testing.T) {
	expectLeak(t, "", func() (string, func()) {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 200; i++ { // wait for it to become a zombie
			stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if strings.Contains(string(stat), ") Z ") {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		return fmt.Sprintf("unreaped child process %d (true)", pid), func() {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, 0, nil)
		}
	})
}

// A child that exits and is reaped within the grace period is no leak.
func TestLeaksGracePeriod(t *testing.T) {
	rec := &recorder{TB: t}
	check := leaks(rec, "", 2*time.Second)
	cmd := exec.Command("sleep", "0.2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	check()
	<-done
	if len(rec.errs) != 0 {
		t.Errorf("leak reports = %q, want none", rec.errs)
	}
}

func TestLeaksStateRoot(t *testing.T) {
	root := t.TempDir()
	expectLeak(t, root, func() (string, func()) {
		dir := filepath.Join(root, "ctr1")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		return "state root " + root + " holds ctr1", func() { os.Remove(dir) }
	})
}

func TestLeaksMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	dir := filepath.Join(t.TempDir(), "with space")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	expectLeak(t, "", func() (string, func()) {
		if err := unix.Mount("leaktest", dir, "tmpfs", 0, "size=64k"); err != nil {
			t.Fatalf("mount tmpfs on %s: %v", dir, err)
		}
		return "mount " + dir + " (tmpfs from leaktest", func() {
			if err := unix.Unmount(dir, 0); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		}
	})
}

func TestLeaksCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups needs root")
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	_, roots := parseMounts(mountinfo)
	if len(roots) == 0 {
		t.Skip("no cgroup hierarchy mounted")
	}
	for _, root := range roots {
		t.Run(strings.TrimPrefix(root, "/sys/fs/cgroup/"), func(t *testing.T) {
			dir := filepath.Join(root, fmt.Sprintf("slrt-leaktest-%d", os.Getpid()))
			expectLeak(t, "", func() (string, func()) {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatalf("make cgroup: %v", err)
				}
				return "cgroup " + dir, func() {
					if err := os.Remove(dir); err != nil {
						t.Errorf("remove cgroup: %v", err)
					}
				}
			})
		})
	}
}

// Resources that exist before the check starts are not the test's leaks.
func TestLeaksIgnoresWhatWasThere(t *testing.T) {
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	rec := &recorder{TB: t}
	leaks(rec, "", testGrace)()
	if len(rec.errs) != 0 {
		t.Errorf("leak reports = %q, want none", rec.errs)
	}
}

// Two checks running side by side cannot attribute leaks; a subtest's
// check inside its parent's can.
func TestLeaksParallelChecks(t *testing.T) {
	a := &recorder{TB: t, name: "TestA"}
	sub := &recorder{TB: t, name: "TestA/sub"}
	b := &recorder{TB: t, name: "TestB"}
	checkA := leaks(a, "", testGrace)
	checkSub := leaks(sub, "", testGrace)
	checkB := leaks(b, "", testGrace)
	checkB()
	checkSub()
	checkA()
	if len(a.errs) != 0 || len(sub.errs) != 0 {
		t.Errorf("nested checks reported %q, %q; want nothing", a.errs, sub.errs)
	}
	if len(b.errs) != 1 || !strings.Contains(b.errs[0], "TestB checks leaks while TestA") {
		t.Errorf("side-by-side check reported %q, want the overlap named", b.errs)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/a/b`:           "/a/b",
		`/with\040space`: "/with space",
		`/tab\011x\134y`: "/tab\tx\\y",
		`/short\04`:      `/short\04`,
		`/not\999escape`: `/not\999escape`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIgnoredCgroup(t *testing.T) {
	for rel, want := range map[string]bool{
		"system.slice/apt-daily.service":          true,
		"user.slice/user-0.slice/session-3.scope": true,
		"process_api/eb9a479158b53a48":            true,
		"system.slice/slrt-abc.scope":             false,
		"slrt/ctr1":                               false,
		"slrt":                                    true, // the shared default parent
		"slrt-test/ctr1":                          false,
		"kubepods/besteffort/pod1/ctr":            true,
	} {
		if got := ignoredCgroup(rel); got != want {
			t.Errorf("ignoredCgroup(%q) = %v, want %v", rel, got, want)
		}
	}
}
