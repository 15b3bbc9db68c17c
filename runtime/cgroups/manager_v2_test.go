package cgroups

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v2ChildEnv marks the re-exec'd test binary that runs TestV2InNamespace
// with a cgroup2 mount over /sys/fs/cgroup.
const v2ChildEnv = "SLRT_CGROUPS_V2_CHILD"

// TestV2Unified runs TestV2InNamespace in a child with a private mount
// namespace where /sys/fs/cgroup is a cgroup2 mount, so the package sees a
// unified host. On a hybrid host that is the same v2 hierarchy as
// /sys/fs/cgroup/unified, owning only the controllers bound to no v1
// mount, so only those (and freeze, procs, kill, events) are exercised.
func TestV2Unified(t *testing.T) {
	requireCgroups(t)
	if os.Getenv(v2ChildEnv) != "" {
		t.Skip("in the child")
	}
	if hostMode() == modeUnified {
		t.Skip("host is unified: the other tests already run on v2")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestV2InNamespace$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), v2ChildEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("v2 child: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestV2InNamespace") {
		t.Fatal("child did not run TestV2InNamespace")
	}
}

func TestV2InNamespace(t *testing.T) {
	if os.Getenv(v2ChildEnv) == "" {
		t.Skip("runs only in TestV2Unified's child")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / private: %v", err)
	}
	if err := unix.Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, ""); err != nil {
		t.Fatalf("mount cgroup2 on /sys/fs/cgroup: %v", err)
	}
	if hostMode() != modeUnified {
		t.Fatal("mode is not unified after mounting cgroup2")
	}
	rootCtrls := readTrim(t, "/sys/fs/cgroup/cgroup.controllers")
	t.Logf("v2 root controllers here: %q", rootCtrls)
	// New delegates every root controller down; undo that on the shared
	// (host-wide) root afterwards.
	delegated := strings.Fields(readTrim(t, "/sys/fs/cgroup/cgroup.subtree_control"))
	t.Cleanup(func() {
		for _, c := range strings.Fields(readTrim(t, "/sys/fs/cgroup/cgroup.subtree_control")) {
			if !slices.Contains(delegated, c) {
				_ = writeFile("/sys/fs/cgroup/cgroup.subtree_control", "-"+c)
			}
		}
	})

	parent := testParent(t)
	path := parent + "/c"
	res := &specs.LinuxResources{
		// Only /dev/null: /dev/zero must be refused by the eBPF filter.
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"},
		},
	}
	hugetlb := slices.Contains(strings.Fields(rootCtrls), "hugetlb") && fileExists("/sys/kernel/mm/hugepages/hugepages-2048kB")
	if hugetlb {
		res.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}
		res.Unified = map[string]string{"cgroup.max.descendants": "5"}
	}
	m := newManager(t, path, res)
	dir := filepath.Join("/sys/fs/cgroup", path)
	if hugetlb {
		if got := readTrim(t, filepath.Join(dir, "hugetlb.2MB.max")); got != "4194304" {
			t.Errorf("hugetlb.2MB.max = %q", got)
		}
		if got := readTrim(t, filepath.Join(dir, "cgroup.max.descendants")); got != "5" {
			t.Errorf("cgroup.max.descendants = %q", got)
		}
	}

	// Resources whose controller is absent fail with the file and the key.
	if !slices.Contains(strings.Fields(rootCtrls), "memory") {
		err := m.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(1 << 20))}})
		if err == nil || !strings.Contains(err.Error(), "linux.resources.memory.limit") || !strings.Contains(err.Error(), dir) {
			t.Errorf("memory limit without a memory controller: err = %v", err)
		}
		if _, _, err := m.OOMEvents(); !errors.Is(err, ErrNoMemoryController) {
			t.Errorf("OOMEvents without memory controller: err = %v", err)
		}
		err = m.Update(&specs.LinuxResources{Unified: map[string]string{"memory.high": "1M"}})
		if err == nil || !strings.Contains(err.Error(), `"memory.high"`) {
			t.Errorf("unified memory.high without a memory controller: err = %v", err)
		}
	}

	// CLONE_INTO_CGROUP through UnifiedFD.
	fd, err := m.UnifiedFD()
	if err != nil || fd == nil {
		t.Fatalf("UnifiedFD() = %v, %v", fd, err)
	}
	defer fd.Close()
	run := func(script string) error {
		c := exec.Command("sh", "-c", script)
		c.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(fd.Fd())}
		return c.Run()
	}
	if err := run(`grep -qx "0::` + path + `" /proc/self/cgroup && head -c0 /dev/null`); err != nil {
		t.Errorf("process cloned into the cgroup: %v", err)
	}
	if err := run("head -c1 /dev/zero >/dev/null"); err == nil {
		t.Error("/dev/zero readable despite the device filter")
	}

	cmd := startIn(t, m, "while :; do :; done")
	pid := cmd.Process.Pid
	pids, err := m.Pids()
	if err != nil || !slices.Contains(pids, pid) {
		t.Fatalf("Pids() = %v, %v; want %d", pids, err, pid)
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || !f {
		t.Fatalf("Frozen() = %v, %v after Freeze", f, err)
	}
	before, state := cpuTicks(t, pid)
	time.Sleep(300 * time.Millisecond)
	if after, _ := cpuTicks(t, pid); after != before {
		t.Errorf("frozen loop used CPU: %d → %d ticks", before, after)
	}
	t.Logf("state of a frozen task: %s", state)
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if f, _ := m.Frozen(); f {
		t.Error("still frozen after Thaw")
	}
	st, err := m.Stats()
	if err != nil || st.V2 == nil || st.V1 != nil {
		t.Fatalf("Stats() = %+v, %v; want V2 only", st, err)
	}
	t.Logf("v2 stats: %v", st.V2)
	if l, err := Load(m.Path(), false); err != nil {
		t.Errorf("Load: %v", err)
	} else if lp, _ := l.Pids(); !slices.Contains(lp, pid) {
		t.Errorf("loaded Pids() = %v", lp)
	}

	// SIGKILL goes through cgroup.kill.
	if err := m.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cgroup to empty", 5*time.Second, func() bool {
		n, err := readKV(filepath.Join(dir, "cgroup.events"), "populated")
		return err == nil && n == 0
	})
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Delete", dir)
	}
}
