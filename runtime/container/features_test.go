package container_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/container"
)

// TestHooks checks every hook kind runs once, in lifecycle order, with the
// OCI state on stdin: createContainer and startContainer inside the
// container's namespaces (they see its UTS namespace), the others in the
// runtime's.
func TestHooks(t *testing.T) {
	e := newEnv(t)
	logDir := t.TempDir()
	log := filepath.Join(logDir, "hooks.log")
	hook := func(name string) specs.Hook {
		// Each hook appends "name status hostname" to the log. The
		// in-container hooks reach the log through a bind mount.
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c",
			`read -r state; s=${state#*\"status\":\"}; echo "` + name + ` ${s%%\"*} $(readlink /proc/self/ns/uts)" >> ` + log}}
	}
	b := bundleWith(t, func(s *specs.Spec) {
		s.Hostname = "hooked"
		s.Mounts = append(s.Mounts, specs.Mount{Destination: logDir, Type: "bind", Source: logDir, Options: []string{"rbind"}})
		s.Hooks = &specs.Hooks{
			CreateRuntime:   []specs.Hook{hook("createRuntime")},
			CreateContainer: []specs.Hook{hook("createContainer")},
			StartContainer:  []specs.Hook{hook("startContainer")},
			Poststart:       []specs.Hook{hook("poststart")},
			Poststop:        []specs.Hook{hook("poststop")},
		}
	}, "/bin/true")
	host, _ := os.Readlink("/proc/self/ns/uts")
	res := e.run("hooks", b, nil)
	if res.status.Code != 0 {
		t.Fatalf("exit = %+v: %s", res.status, res.out)
	}
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	want := []struct{ name, status string }{
		{"createRuntime", "creating"}, {"createContainer", "creating"}, {"startContainer", "created"},
		{"poststart", "running"}, {"poststop", "stopped"},
	}
	if len(lines) != len(want) {
		t.Fatalf("hook log has %d lines, want %d:\n%s", len(lines), len(want), got)
	}
	var ctrUTS string
	for i, w := range want {
		f := strings.Fields(lines[i])
		if len(f) != 3 || f[0] != w.name || f[1] != w.status {
			t.Errorf("hook log line %d = %q, want %s with status %s", i, lines[i], w.name, w.status)
			continue
		}
		inside := w.name == "createContainer" || w.name == "startContainer"
		if inside == (f[2] == host) {
			t.Errorf("%s ran in UTS namespace %s (runtime's is %s)", w.name, f[2], host)
		}
		if inside {
			if ctrUTS != "" && f[2] != ctrUTS {
				t.Errorf("createContainer and startContainer ran in different namespaces")
			}
			ctrUTS = f[2]
		}
	}
}

// TestUserNamespace runs a container whose root is an unprivileged host
// uid: the rootfs is chowned to it, devices become bind mounts.
func TestUserNamespace(t *testing.T) {
	e := newEnv(t)
	const base = 100000
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
		// sysfs cannot be mounted without owning the network namespace's
		// user namespace; the container has both here, so keep it.
	}, "sh", "-c", "id; cat /proc/self/uid_map; ls -ln /dev/null; touch /dev/shm/x && echo wrote")
	testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
	res := e.run("userns", b, nil)
	if res.status.Code != 0 {
		t.Fatalf("exit = %+v: %s", res.status, res.out)
	}
	for _, want := range []string{"uid=0(root) gid=0(root)", "0     100000      65536", "wrote"} {
		if !strings.Contains(strings.Join(strings.Fields(res.out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("output lacks %q:\n%s", want, res.out)
		}
	}
}

// TestCgroupLimits: the spec's limits are in the container's cgroup files
// (read from inside, through its cgroup namespace), and Update changes them
// in place.
func TestCgroupLimits(t *testing.T) {
	e := newEnv(t)
	limit := int64(64 << 20)
	pids := int64(50)
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
	}, "sleep", "1000")
	c, err := container.Create(e.root, container.CreateOpts{ID: "limits", Bundle: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(true) })
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	read := func() string {
		r, w, _ := os.Pipe()
		p, err := c.Exec(container.ExecOpts{Stdout: w, Stderr: w, Process: &specs.Process{
			Args: []string{"sh", "-c", "cat /proc/self/cgroup | grep memory; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max"},
		}})
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := readAll(r)
		p.Wait()
		return b
	}
	if out := read(); !strings.Contains(out, "memory:/\n") || !strings.Contains(out, "67108864\n50\n") {
		t.Errorf("inside the container:\n%s\nwant memory:/ (cgroup namespace) and limits 67108864, 50", out)
	}
	newLimit := int64(32 << 20)
	if err := c.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &newLimit}, Pids: &specs.LinuxPids{Limit: &pids}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if out := read(); !strings.Contains(out, "33554432\n") {
		t.Errorf("after update:\n%s\nwant limit 33554432", out)
	}
	st, err := c.Stats()
	if err != nil || st == nil {
		t.Fatalf("stats: %v", err)
	}
	if b, _ := json.Marshal(st); !strings.Contains(string(b), "33554432") {
		t.Errorf("stats do not carry the memory limit: %s", b)
	}
}

func readAll(f *os.File) (string, error) {
	defer f.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String(), nil
		}
	}
}

// TestExtraFiles: files passed by the caller reach the workload as 3, 4,
// ... and nothing else of the runtime's does.
func TestExtraFiles(t *testing.T) {
	e := newEnv(t)
	r1, w1, _ := os.Pipe()
	r2, w2, _ := os.Pipe()
	defer r1.Close()
	defer r2.Close()
	b := bundleWith(t, nil, "sh", "-c", "echo three >&3; echo four >&4; ls /proc/self/fd")
	out := filepath.Join(t.TempDir(), "out")
	of, _ := os.Create(out)
	c, err := container.Create(e.root, container.CreateOpts{ID: "fds", Bundle: b, Stdout: of, Stderr: of, ExtraFiles: []*os.File{w1, w2}})
	w1.Close()
	w2.Close()
	of.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	c.Init().Wait()
	if s, _ := readAll(r1); s != "three\n" {
		t.Errorf("fd 3 got %q", s)
	}
	if s, _ := readAll(r2); s != "four\n" {
		t.Errorf("fd 4 got %q", s)
	}
	// ls shows 0-2, 3, 4 and its own directory fd: nothing leaked.
	got, _ := os.ReadFile(out)
	if f := strings.Fields(string(got)); strings.Join(f, " ") != "0 1 2 3 4 5" {
		t.Errorf("workload fds = %q, want 0 1 2 3 4 (+ ls's own)", got)
	}
}

// TestExecUserNamespace: exec joins the container's user namespace too
// (through slrt-nsenter: a Go process cannot), so the process is the
// container's root, not the host's.
func TestExecUserNamespace(t *testing.T) {
	e := newEnv(t)
	const base = 200000
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
	}, "sleep", "1000")
	testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
	c, err := container.Create(e.root, container.CreateOpts{ID: "execuserns", Bundle: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(true) })
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	r, w, _ := os.Pipe()
	p, err := c.Exec(container.ExecOpts{Stdout: w, Stderr: w, Process: &specs.Process{
		Args: []string{"sh", "-c", "id -u; cat /proc/self/uid_map; cat /proc/1/cmdline"},
		User: specs.User{UID: 1000, GID: 1000},
	}})
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("exec: %v", err)
	}
	out, _ := readAll(r)
	if st := p.Wait(); st.Code != 0 {
		t.Fatalf("exec exit = %+v: %s", st, out)
	}
	if f := strings.Fields(out); len(f) < 5 || f[0] != "1000" || f[1] != "0" || f[2] != "200000" || !strings.HasPrefix(f[4], "sleep") {
		t.Errorf("exec output = %q, want uid 1000 in the container's user namespace (0 200000 65536) next to sleep", out)
	}
}

// TestOOM: a container that outgrows its memory limit is OOM-killed, and
// OOMEvents reports it.
func TestOOM(t *testing.T) {
	e := newEnv(t)
	limit := int64(16 << 20)
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
	}, "sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1")
	c, err := container.Create(e.root, container.CreateOpts{ID: "oom", Bundle: b})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	events, stop, err := c.OOMEvents()
	if err != nil {
		t.Fatalf("oom events: %v", err)
	}
	defer stop()
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	st := c.Init().Wait()
	select {
	case <-events:
	case <-time.After(5 * time.Second):
		t.Errorf("no OOM event (init exit %+v)", st)
	}
}
