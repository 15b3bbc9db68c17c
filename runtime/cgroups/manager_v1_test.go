package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func requireV1(t *testing.T) {
	t.Helper()
	requireCgroups(t)
	if hostMode() == modeUnified {
		t.Skip("controllers are on cgroup v2 here")
	}
}

func TestV1CreateWithResources(t *testing.T) {
	requireV1(t)
	path := testParent(t) + "/c"
	res := &specs.LinuxResources{
		CPU: &specs.LinuxCPU{
			Shares: ptr(uint64(512)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000)),
			Burst: ptr(uint64(1000)), Idle: ptr(int64(0)), Cpus: "0", Mems: "0",
		},
		Memory: &specs.LinuxMemory{
			Limit: ptr(int64(64 << 20)), Swap: ptr(int64(96 << 20)), Reservation: ptr(int64(32 << 20)),
			Swappiness: ptr(uint64(10)), DisableOOMKiller: ptr(false), Kernel: ptr(int64(-1)),
		},
		Pids: &specs.LinuxPids{Limit: ptr(int64(42))},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"},
		},
	}
	m := newManager(t, path, res)
	if m.Path() != path {
		t.Fatalf("Path() = %q, want %q", m.Path(), path)
	}
	for _, tt := range []struct{ ctrl, file, want string }{
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpu", "cpu.cfs_burst_us", "1000"},
		{"cpu", "cpu.idle", "0"},
		{"cpuset", "cpuset.cpus", "0"},
		{"cpuset", "cpuset.mems", "0"},
		{"memory", "memory.limit_in_bytes", strconv.Itoa(64 << 20)},
		{"memory", "memory.memsw.limit_in_bytes", strconv.Itoa(96 << 20)},
		{"memory", "memory.soft_limit_in_bytes", strconv.Itoa(32 << 20)},
		{"memory", "memory.swappiness", "10"},
		{"pids", "pids.max", "42"},
		{"devices", "devices.list", "c 1:3 rwm"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			p := filepath.Join("/sys/fs/cgroup", tt.ctrl, path, tt.file)
			if _, err := os.Stat(filepath.Dir(p)); err != nil {
				t.Skipf("no %s hierarchy: %v", tt.ctrl, err)
			}
			if got := readTrim(t, p); got != tt.want {
				t.Errorf("%s = %q, want %q", p, got, tt.want)
			}
		})
	}
	if fd, err := m.UnifiedFD(); fd != nil || err != nil {
		t.Errorf("UnifiedFD() = %v, %v on a v1 host, want nil, nil", fd, err)
	}
}

// TestV1Lifecycle walks one container cgroup through what the engine does:
// add a process, list, pause, resume, stats, update, kill, delete.
func TestV1Lifecycle(t *testing.T) {
	requireV1(t)
	path := testParent(t) + "/c"
	m := newManager(t, path, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(100))}})
	// Memory is charged where it is allocated, so the loop first fills a
	// 1 MB variable inside the cgroup.
	cmd := startIn(t, m, "x=$(head -c 1000000 /dev/zero | tr '\\0' a); while :; do :; done")
	pid := cmd.Process.Pid

	// Every hierarchy, including the v2 one on hybrid hosts, holds it.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if parts[1] == "" && hostMode() != modeHybrid {
			continue
		}
		if parts[2] != path {
			t.Errorf("/proc/%d/cgroup: %q, want %s everywhere", pid, line, path)
		}
	}

	pids, err := m.Pids()
	if err != nil || !slices.Contains(pids, pid) {
		t.Fatalf("Pids() = %v, %v; want it to contain %d", pids, err, pid)
	}

	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || !f {
		t.Fatalf("Frozen() = %v, %v after Freeze", f, err)
	}
	before, state := cpuTicks(t, pid)
	time.Sleep(300 * time.Millisecond)
	after, _ := cpuTicks(t, pid)
	if after != before {
		t.Errorf("frozen busy loop used CPU: %d → %d ticks (state %s)", before, after, state)
	}
	t.Logf("state of a frozen task: %s", state)
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || f {
		t.Fatalf("Frozen() = %v, %v after Thaw", f, err)
	}
	waitFor(t, "the thawed loop to run", 3*time.Second, func() bool {
		n, _ := cpuTicks(t, pid)
		return n > after
	})

	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.V1 == nil || st.V2 != nil {
		t.Fatalf("Stats() = %+v, want V1 only on a v1 host", st)
	}
	if st.V1.CPU == nil || st.V1.CPU.Usage.Total == 0 {
		t.Errorf("cpu usage = %+v, want > 0", st.V1.CPU)
	}
	if st.V1.Pids == nil || st.V1.Pids.Current < 1 || st.V1.Pids.Limit != 100 {
		t.Errorf("pids = %+v, want current >= 1, limit 100", st.V1.Pids)
	}
	if st.V1.Memory == nil || st.V1.Memory.Usage == nil || st.V1.Memory.Usage.Usage == 0 {
		t.Errorf("memory = %+v, want usage > 0", st.V1.Memory)
	}

	// Update, with a swap increase that must be written before the limit.
	if err := m.Update(&specs.LinuxResources{
		Pids:   &specs.LinuxPids{Limit: ptr(int64(7))},
		Memory: &specs.LinuxMemory{Limit: ptr(int64(200 << 20)), Swap: ptr(int64(300 << 20))},
		CPU:    &specs.LinuxCPU{Shares: ptr(uint64(2048))},
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(100 << 20)), Swap: ptr(int64(100 << 20))},
	}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"pids/pids.max":                      "7",
		"cpu/cpu.shares":                     "2048",
		"memory/memory.limit_in_bytes":       strconv.Itoa(100 << 20),
		"memory/memory.memsw.limit_in_bytes": strconv.Itoa(100 << 20),
	} {
		ctrl, f, _ := strings.Cut(file, "/")
		if got := readTrim(t, filepath.Join("/sys/fs/cgroup", ctrl, path, f)); got != want {
			t.Errorf("after Update %s = %q, want %q", file, got, want)
		}
	}
	err = m.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(4096)), CheckBeforeUpdate: ptr(true)}})
	if err == nil || !strings.Contains(err.Error(), "below current usage") {
		t.Errorf("Update below usage with checkBeforeUpdate: err = %v", err)
	}

	// Load from the recorded path sees the same cgroup.
	l, err := Load(m.Path(), false)
	if err != nil {
		t.Fatal(err)
	}
	if lp, _ := l.Pids(); !slices.Contains(lp, pid) {
		t.Errorf("loaded manager Pids() = %v, want %d", lp, pid)
	}

	if err := m.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cgroup to empty", 5*time.Second, func() bool {
		p, _ := m.Pids()
		return len(p) == 0
	})
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	for _, mnt := range cgroupMounts(t) {
		if _, err := os.Stat(filepath.Join(mnt, path)); !os.IsNotExist(err) {
			t.Errorf("%s still exists after Delete", filepath.Join(mnt, path))
		}
	}
	if _, err := Load(path, false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load after Delete: err = %v, want ErrNotExist", err)
	}
}

// TestV1OOM runs a memory hog under a small limit and expects one OOM event.
func TestV1OOM(t *testing.T) {
	requireV1(t)
	path := testParent(t) + "/c"
	limit := int64(16 << 20)
	m := newManager(t, path, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit, Swap: &limit}})
	events, stop, err := m.OOMEvents()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	cmd := startIn(t, m, "exec dd if=/dev/zero of=/dev/null bs=64M count=1")
	select {
	case _, ok := <-events:
		if !ok {
			t.Fatal("OOM channel closed without an event")
		}
	case <-time.After(10 * time.Second):
		n, err := m.OOMKillCount()
		t.Fatalf("no OOM event within 10s (oom_kill count %d, %v; hog exited: %v)", n, err, processGone(cmd.Process.Pid))
	}
	if n, err := m.OOMKillCount(); err != nil || n < 1 {
		t.Errorf("OOMKillCount() = %d, %v; want >= 1", n, err)
	}
	waitFor(t, "the hog to die", 5*time.Second, func() bool { return cmd.ProcessState != nil || processGone(cmd.Process.Pid) })
	stop()
	if _, ok := <-events; ok {
		// drain; after stop the channel must close
		for range events {
		}
	}
}

func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err != nil || strings.Contains(string(b), ") Z ")
}

// TestV1BadResources: each bad value fails New with an error naming the
// resource and the cgroup, and leaves no directory.
func TestV1BadResources(t *testing.T) {
	requireV1(t)
	tests := []struct {
		name string
		res  *specs.LinuxResources
		want string
	}{
		{"quota too small", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(1)), Period: ptr(uint64(100000))}}, "linux.resources.cpu.quota"},
		{"cpus out of range", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "999"}}, "linux.resources.cpu.cpus"},
		{"swap below limit", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Swap: ptr(int64(32 << 20))}}, "linux.resources.memory"},
		{"swappiness", &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr(uint64(101))}}, "swappiness"},
		{"unified on v1", &specs.LinuxResources{Unified: map[string]string{"memory.high": "1M"}}, `"memory.high"`},
		{"bad device rule", &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "q", Access: "rwm"}}}, "linux.resources.devices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := testParent(t)
			path := parent + "/deep/c"
			m, err := New(path, false, "c", tt.res)
			if err == nil {
				_ = m.Delete()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %q and %s", err, tt.want, path)
			}
			for _, mnt := range cgroupMounts(t) {
				if _, err := os.Stat(filepath.Join(mnt, parent)); !os.IsNotExist(err) {
					t.Errorf("%s left behind by failed New", filepath.Join(mnt, parent))
				}
			}
		})
	}
}

// TestV1RelativePath: a relative cgroupsPath lands under our own cgroup in
// each hierarchy, and Path() brings Load back to the same directories.
func TestV1RelativePath(t *testing.T) {
	requireV1(t)
	rel := strings.TrimPrefix(testParent(t), "/") + "/c"
	own, _, err := parseProcCgroup("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, rel, nil)
	for _, ctrl := range []string{"memory", "pids", "cpu"} {
		want := filepath.Join("/sys/fs/cgroup", ctrl, own[ctrl], rel)
		if _, err := os.Stat(want); err != nil {
			t.Errorf("%s cgroup not under our own: %v", ctrl, err)
		}
		// The leak check only looks at the root of each hierarchy.
		if own[ctrl] != "/" {
			parent := filepath.Join(own[ctrl], filepath.Dir(rel))
			t.Cleanup(func() { _ = removeTree(filepath.Join("/sys/fs/cgroup", ctrl, parent)) })
		}
	}
	l, err := Load(m.Path(), false)
	if err != nil {
		t.Fatalf("Load(%q): %v", m.Path(), err)
	}
	if !mapsEqual(l.v1dirs, m.v1dirs) {
		t.Errorf("Load(%q) dirs %v, New dirs %v", m.Path(), l.v1dirs, m.v1dirs)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRemoveChainKeepsSiblings: undoing a failed New removes its own
// directory and the empty ancestors it made, but a sibling that another
// create made meanwhile under the same new parent keeps its directory and
// so that parent (two containers of a new pod created at once).
func TestRemoveChainKeepsSiblings(t *testing.T) {
	requireCgroups(t)
	parent := testParent(t)
	for _, mnt := range cgroupMounts(t) {
		mine := filepath.Join(mnt, parent, "pod", "mine")
		sibling := filepath.Join(mnt, parent, "pod", "sibling")
		for _, d := range []string{mine, sibling} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		removeChain(chain{leaf: mine, top: filepath.Join(mnt, parent)})
		if _, err := os.Stat(mine); !os.IsNotExist(err) {
			t.Errorf("%s: not removed (%v)", mine, err)
		}
		if _, err := os.Stat(sibling); err != nil {
			t.Errorf("sibling %s removed with the failed create's chain: %v", sibling, err)
		}
		// the sibling's own chain takes the rest once it is empty
		removeChain(chain{leaf: sibling, top: filepath.Join(mnt, parent)})
		if _, err := os.Stat(filepath.Join(mnt, parent)); !os.IsNotExist(err) {
			t.Errorf("%s: not removed after the last child (%v)", filepath.Join(mnt, parent), err)
		}
	}
}
