package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// requireCgroups skips tests that need root and real cgroups.
func requireCgroups(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs root and real cgroups (-short)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// testParent returns a parent cgroup path unique to this test and registers
// a leak check: when the test ends, no hierarchy may still hold it (after the
// parent itself, which Delete leaves, is removed).
func testParent(t *testing.T) string {
	t.Helper()
	parent := fmt.Sprintf("/slrt-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	t.Cleanup(func() { checkNoCgroupLeft(t, parent) })
	return parent
}

// cgroupMounts lists every mounted cgroup hierarchy.
func cgroupMounts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && (f[2] == "cgroup" || f[2] == "cgroup2") {
			out = append(out, f[1])
		}
	}
	return out
}

// checkNoCgroupLeft fails if a container cgroup is left under parent in any
// hierarchy, then removes the (empty) parent directories.
func checkNoCgroupLeft(t *testing.T, parent string) {
	t.Helper()
	for _, mnt := range cgroupMounts(t) {
		dir := filepath.Join(mnt, parent)
		entries, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		for _, e := range entries {
			if e.IsDir() {
				t.Errorf("cgroup left behind: %s", filepath.Join(dir, e.Name()))
			}
		}
		if err := removeTree(dir); err != nil {
			t.Errorf("remove test parent: %v", err)
		}
	}
}

// newManager creates a cgroup that the test deletes when it ends.
func newManager(t *testing.T, path string, res *specs.LinuxResources) *Manager {
	t.Helper()
	m, err := New(path, false, "c", res)
	if err != nil {
		t.Fatalf("New(%q): %v", path, err)
	}
	t.Cleanup(func() {
		_ = m.Signal(unix.SIGKILL)
		if err := m.Delete(); err != nil {
			t.Errorf("Delete: %v", err)
		}
	})
	return m
}

// startIn starts argv stopped at a "read" on stdin, places it in m and lets
// it continue, so that everything it does is charged to the cgroup.
func startIn(t *testing.T, m *Manager, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", "read go; "+script)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		// A frozen process cannot die; thaw first (a no-op if not frozen).
		_ = m.Thaw()
		_ = cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("pid %d did not exit after SIGKILL", cmd.Process.Pid)
		}
	})
	go func() { _ = cmd.Wait(); close(done) }()
	if err := m.Add(cmd.Process.Pid); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// cpuTicks is the utime+stime of pid (fields 14 and 15 of /proc/PID/stat).
func cpuTicks(t *testing.T, pid int) (uint64, string) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseUint(f[11], 10, 64)
	k, _ := strconv.ParseUint(f[12], 10, 64)
	return u + k, f[0]
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }
