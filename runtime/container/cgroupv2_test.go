package container_test

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/container"
)

// v2Env marks the re-exec'd test binary that runs the engine on a pure
// cgroup v2 view of the host.
const v2Env = "SLRT_ENGINE_V2_CHILD"

// TestPureV2 runs the TestV2* tests in a child whose private mount namespace
// has cgroup2 mounted over /sys/fs/cgroup, so the engine takes its unified
// path: the init cloned straight into its cgroup (CLONE_INTO_CGROUP), the
// cgroup namespace made at clone, the v2 freezer, the eBPF device filter;
// TestV2JoinUserNS does it through slrt-nsenter's clone.
// On this hybrid host the v2 hierarchy owns only the controllers no v1
// mount took, so resource limits are covered by the v1 tests instead.
func TestPureV2(t *testing.T) {
	if os.Getenv(v2Env) != "" {
		t.Skip("in the child")
	}
	newEnv(t) // root check and a leak check of the host view around the child
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Skip("host is unified: every engine test already runs on v2")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestV2", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), v2Env+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestV2Engine") || !strings.Contains(string(out), "--- PASS: TestV2JoinUserNS") {
		t.Fatalf("v2 child failed: %v", err)
	}
}

// enterPureV2 mounts cgroup2 over /sys/fs/cgroup in the child's private
// mount namespace (TestPureV2) and returns a fresh test env there.
func enterPureV2(t *testing.T) *env {
	t.Helper()
	if os.Getenv(v2Env) == "" {
		t.Skip("runs only in TestPureV2's child")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / private: %v", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		if err := unix.Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, ""); err != nil {
			t.Fatalf("mount cgroup2 on /sys/fs/cgroup: %v", err)
		}
	}
	// The engine delegates the root's controllers down to its cgroups;
	// the v2 root is shared with the host, so give back what it enabled.
	before := strings.Fields(readFile(t, "/sys/fs/cgroup/cgroup.subtree_control"))
	t.Cleanup(func() {
		for _, c := range strings.Fields(readFile(t, "/sys/fs/cgroup/cgroup.subtree_control")) {
			if !slices.Contains(before, c) {
				os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("-"+c), 0)
			}
		}
	})
	return newEnv(t)
}

func TestV2Engine(t *testing.T) {
	e := enterPureV2(t)
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}, "sh", "-c", "cat /proc/self/cgroup; head -c 1 /dev/zero >/dev/null && echo zero-ok; sleep 1000")
	r, w, _ := os.Pipe()
	c, err := container.Create(e.root, container.CreateOpts{ID: "v2", Bundle: b, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(true) })
	// Placed at clone: the parked init is already in the container's cgroup.
	self := readFile(t, "/proc/"+itoa(c.Init().Pid)+"/cgroup")
	if st, _ := c.State(); !strings.Contains(self, "0::/slrt/v2") {
		t.Errorf("parked init's cgroup = %q (state %+v), want 0::/slrt/v2", self, st.CgroupPath)
	}
	if err := c.Start(nil); err != nil {
		r.Close()
		t.Fatal(err)
	}
	// Read what the workload printed before it went to sleep.
	var out strings.Builder
	buf := make([]byte, 512)
	for !strings.Contains(out.String(), "zero-ok") {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if err := c.Pause(); err != nil {
		t.Errorf("pause: %v", err)
	} else if st, _ := c.State(); st.Status != container.Paused {
		t.Errorf("status after pause = %s", st.Status)
	}
	if err := c.Resume(); err != nil {
		t.Errorf("resume: %v", err)
	}
	if err := c.Delete(true); err != nil {
		t.Errorf("delete: %v", err)
	}
	r.Close()
	if s := out.String(); !strings.Contains(s, "0::/\n") || !strings.Contains(s, "zero-ok") {
		t.Errorf("inside: %q, want 0::/ (own cgroup namespace) and /dev/zero usable", s)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func itoa(i int) string { return strconv.Itoa(i) }
