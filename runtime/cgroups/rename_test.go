package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestV1Rename: a staging cgroup holding a process becomes a container's
// cgroup by rename: the process is in the new cgroup in every hierarchy,
// the limits apply, nothing of the old name is left; a place under another
// parent is refused with m untouched.
func TestV1Rename(t *testing.T) {
	requireV1(t)
	parent := testParent(t)
	staging, err := New(parent+"/slrt-shell-1", false, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// exec: the test counts the cgroup's processes, and a shell that forks
	// sleep would hold two.
	cmd := startIn(t, staging, "exec sleep 1000")
	pid := cmd.Process.Pid

	if _, err := staging.Rename(parent+"/other/ctr", false, "ctr", nil); !errors.Is(err, ErrNotRenamable) {
		t.Fatalf("rename under another parent: err = %v, want ErrNotRenamable", err)
	}
	if pids, err := staging.Pids(); err != nil || len(pids) != 1 || pids[0] != pid {
		t.Fatalf("after a refused rename the staging cgroup holds %v, %v", pids, err)
	}

	res := &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(42))}}
	m, err := staging.Rename(parent+"/ctr", false, "ctr", res)
	if err != nil {
		t.Fatalf("Rename: %v", err)
	}
	defer func() {
		_ = m.Signal(unix.SIGKILL)
		waitFor(t, "the process to leave", 5e9, func() bool { p, _ := m.Pids(); return len(p) == 0 })
		if err := m.Delete(); err != nil {
			t.Errorf("Delete: %v", err)
		}
	}()
	// On hybrid hosts the v2 twin keeps the staging name, and Path()
	// says so.
	hybrid := hostMode() == modeHybrid
	want := parent + "/ctr"
	if hybrid {
		want += ";=" + parent + "/slrt-shell-1"
	}
	if m.Path() != want {
		t.Errorf("Path() = %q, want %q", m.Path(), want)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], parent) {
			continue
		}
		if w := parent + "/ctr"; f[0] == "0" && hybrid {
			w = parent + "/slrt-shell-1"
			if f[2] != w {
				t.Errorf("/proc/%d/cgroup: %s, want %s", pid, line, w)
			}
		} else if f[2] != w {
			t.Errorf("/proc/%d/cgroup: %s, want %s", pid, line, w)
		}
	}
	l, err := Load(m.Path(), false)
	if err != nil {
		t.Fatalf("Load(%q): %v", m.Path(), err)
	}
	if pids, err := l.Pids(); err != nil || len(pids) != 1 || pids[0] != pid {
		t.Errorf("loaded renamed cgroup holds %v, %v; want [%d]", pids, err, pid)
	}
	if !strings.Contains(string(b), parent+"/ctr") {
		t.Errorf("/proc/%d/cgroup does not name the new cgroup:\n%s", pid, b)
	}
	if got := readTrim(t, filepath.Join("/sys/fs/cgroup/pids", parent, "ctr", "pids.max")); got != "42" {
		t.Errorf("pids.max = %q after rename, want 42", got)
	}
	for _, mnt := range cgroupMounts(t) {
		if _, err := os.Stat(filepath.Join(mnt, parent, "slrt-shell-1")); err == nil && !(hybrid && mnt == hybridRoot) {
			t.Errorf("%s still has the staging cgroup", mnt)
		}
	}
	if pids, err := m.Pids(); err != nil || len(pids) != 1 || pids[0] != pid {
		t.Errorf("renamed cgroup holds %v, %v; want [%d]", pids, err, pid)
	}
	if err := staging.Delete(); err != nil {
		t.Errorf("Delete through the renamed-away manager: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/pids", parent, "ctr")); err != nil {
		t.Errorf("Delete through the old manager removed the new cgroup: %v", err)
	}

}
