package container_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/container"
)

// threadCgroups is every thread of this process with its /proc cgroup
// file, to check that spawning from inside the container's cgroups leaves
// no thread of ours behind in them.
func threadCgroups(t *testing.T) map[string]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", e.Name(), "cgroup"))
		if err == nil {
			out[e.Name()] = string(b)
		}
	}
	return out
}

// TestInitBornInCgroup checks the init is cloned straight into the
// container's cgroup in every hierarchy (the spawning thread enters the v1
// ones, CLONE_INTO_CGROUP the v2 one), and that no thread of the engine's
// process stays in the container's cgroups afterwards. A pids.max of 1,
// which the spawning thread counts against, falls back to moving the init
// (the container still runs).
func TestInitBornInCgroup(t *testing.T) {
	e := newEnv(t)
	one := int64(1)
	for _, tc := range []struct {
		name string
		pids *int64
	}{{"plain", nil}, {"pids.max 1", &one}} {
		t.Run(tc.name, func(t *testing.T) {
			b := bundleWith(t, func(s *specs.Spec) {
				if tc.pids != nil {
					if s.Linux.Resources == nil {
						s.Linux.Resources = &specs.LinuxResources{}
					}
					s.Linux.Resources.Pids = &specs.LinuxPids{Limit: tc.pids}
				}
			}, "true")
			id := "born" + strconv.Itoa(len(tc.name))
			c, err := container.Create(e.root, container.CreateOpts{ID: id, Bundle: b})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			defer c.Delete(true)
			st, _ := c.State()
			own, err := os.ReadFile("/proc/" + strconv.Itoa(c.Init().Pid) + "/cgroup")
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(own)), "\n") {
				if !strings.HasSuffix(line, ":/"+strings.TrimPrefix(st.CgroupPath, "/")) {
					t.Errorf("init's cgroup line %q is not the container's %s", line, st.CgroupPath)
				}
			}
			for tid, cg := range threadCgroups(t) {
				if strings.Contains(cg, id) {
					t.Errorf("thread %d is still in the container's cgroup:\n%s", atoi(tid), cg)
				}
			}
			if err := c.Start(nil); err != nil {
				t.Fatalf("start: %v", err)
			}
			if s := c.Init().Wait(); s.Code != 0 {
				t.Errorf("exit %+v", s)
			}
		})
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
