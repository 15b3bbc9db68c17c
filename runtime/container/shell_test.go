package container_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/container"
)

func newShell(t *testing.T, s *specs.Spec) *container.Shell {
	t.Helper()
	sh, err := container.NewShell(container.ShellConfigFor(s))
	if err != nil {
		t.Fatalf("new shell: %v", err)
	}
	t.Cleanup(sh.Destroy)
	return sh
}

// TestShellRun makes a container from a parked shell: its stdio and an
// extra file arrive with the plan, the cgroup (and a cgroup namespace
// rooted at it) is the container's, and Start runs a replacement process
// with a CPU list, as the shim's fast start does.
func TestShellRun(t *testing.T) {
	e := newEnv(t)
	b := bundleWith(t, func(s *specs.Spec) {
		s.Hostname = "from-shell"
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}, "sh", "-c", "echo original")
	s := testutil.ReadSpec(t, b)
	sh := newShell(t, s)
	if !sh.Alive() {
		t.Fatal("a new shell is not alive")
	}
	// Parked: the init waits for its plan, in no mount namespace work yet.
	if err := sh.Fits(s); err != nil {
		t.Fatalf("shell made for the spec does not fit it: %v", err)
	}

	extra, err := os.CreateTemp(t.TempDir(), "extra")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	fmt.Fprint(extra, "extra-file-content")
	extra.Seek(0, 0)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := container.Create(e.root, container.CreateOpts{
		ID: "shellrun", Bundle: b, Shell: sh, Stdout: w, Stderr: w, ExtraFiles: []*os.File{extra},
	})
	w.Close()
	if err != nil {
		t.Fatalf("create from shell: %v", err)
	}
	defer c.Delete(true)
	if c.Init().Pid != sh.Pid() {
		t.Errorf("init pid %d, want the shell's %d", c.Init().Pid, sh.Pid())
	}
	if sh.Alive() {
		t.Error("a taken shell still reports alive")
	}
	if st, _ := c.State(); st.Status != container.Created {
		t.Fatalf("status after create = %s", st.Status)
	}
	script := "echo replaced; hostname; echo pid=$$; cat <&3; echo; grep Cpus_allowed_list /proc/self/status; " +
		"grep -c ':/$' /proc/self/cgroup >/dev/null && echo cgroupns-root; ls /proc/self/fd | wc -l"
	if err := c.Start(&container.StartProcess{Args: []string{"sh", "-c", script}, CPUs: "0"}); err != nil {
		t.Fatalf("start: %v", err)
	}
	out, _ := io.ReadAll(r)
	st := c.Init().Wait()
	if st.Code != 0 {
		t.Fatalf("exit %+v:\n%s", st, out)
	}
	for _, want := range []string{"replaced\n", "from-shell\n", "pid=1\n", "extra-file-content\n", "Cpus_allowed_list:\t0\n", "cgroupns-root\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "original") {
		t.Errorf("the spec's process ran:\n%s", out)
	}
	// stdin, stdout, stderr, fd 3, and the fd ls opens: nothing else.
	if !strings.HasSuffix(strings.TrimSpace(string(out)), "5") {
		t.Errorf("the workload has other fds than 0-3 (last line is the count + ls's own):\n%s", out)
	}
	if err := c.Delete(false); err != nil {
		t.Fatalf("delete: %v", err)
	}
	sh.Destroy() // a no-op once taken
}

// TestShellInCgroup: the parked init is moved into the container's
// cgroup at Create.
func TestShellInCgroup(t *testing.T) {
	e := newEnv(t)
	b := bundleWith(t, nil, "sleep", "1000")
	sh := newShell(t, testutil.ReadSpec(t, b))
	before, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", sh.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.Create(e.root, container.CreateOpts{ID: "shellcg", Bundle: b, Shell: sh})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	st, _ := c.State()
	pids, err := c.Pids()
	if err != nil || len(pids) != 1 || pids[0] != sh.Pid() {
		t.Errorf("cgroup %s holds %v (%v), want the shell's init %d", st.CgroupPath, pids, err, sh.Pid())
	}
	after, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", sh.Pid()))
	if string(before) == string(after) || !strings.Contains(string(after), "shellcg") {
		t.Errorf("the init's cgroups did not change to the container's:\nbefore %s\nafter %s", before, after)
	}
}

// TestShellUserNamespace: a shell with a user namespace and its mappings
// becomes a container running as the mapped root.
func TestShellUserNamespace(t *testing.T) {
	e := newEnv(t)
	const base = 100000
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
	}, "sh", "-c", "id -u; cat /proc/self/uid_map")
	testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
	sh := newShell(t, testutil.ReadSpec(t, b))
	r, w, _ := os.Pipe()
	defer r.Close()
	c, err := container.Create(e.root, container.CreateOpts{ID: "shelluser", Bundle: b, Shell: sh, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	c.Init().Wait()
	if got := strings.Join(strings.Fields(string(out)), " "); got != "0 0 100000 65536" {
		t.Errorf("output %q, want root mapped to %d", out, base)
	}
}

// TestShellDoesNotFit: a spec that differs from the shell in what a shell
// fixes at spawn is refused, naming the difference; nothing is made, and
// the shell stays parked and usable.
func TestShellDoesNotFit(t *testing.T) {
	e := newEnv(t)
	base := testutil.DefaultSpec("true")
	sh := newShell(t, base)
	userNS := func(s *specs.Spec, host uint32) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: host, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: host, Size: 65536}}
	}
	without := func(s *specs.Spec, k specs.LinuxNamespaceType) {
		var keep []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != k {
				keep = append(keep, n)
			}
		}
		s.Linux.Namespaces = keep
	}
	for _, tc := range []struct {
		name string
		edit func(*specs.Spec)
		want string
	}{
		{"user namespace", func(s *specs.Spec) { userNS(s, 100000) }, "user namespace: the shell's is the runtime's own, the spec's is new"},
		{"no network namespace", func(s *specs.Spec) { without(s, specs.NetworkNamespace) }, "network namespace: the shell's is new, the spec's is the runtime's own"},
		{"joins a pid namespace", func(s *specs.Spec) {
			without(s, specs.PIDNamespace)
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: fmt.Sprintf("/proc/%d/ns/pid", sh.Pid())})
		}, "pid namespace: the shell's is new, the spec's is joined from /proc/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bundleWith(t, tc.edit, "true")
			_, err := container.Create(e.root, container.CreateOpts{ID: "nofit", Bundle: b, Shell: sh})
			if err == nil || !strings.Contains(err.Error(), "fast-start shell does not fit: "+tc.want) {
				t.Fatalf("create: err = %v, want one containing %q", err, tc.want)
			}
			if !sh.Alive() {
				t.Fatal("a refused shell is no longer parked")
			}
		})
	}

	// Another mapping than the shell's.
	s1 := testutil.DefaultSpec("true")
	userNS(s1, 100000)
	ush := newShell(t, s1)
	s2 := testutil.DefaultSpec("true")
	userNS(s2, 200000)
	if err := ush.Fits(s2); err == nil || !strings.Contains(err.Error(), "linux.uidMappings") {
		t.Errorf("fits with other mappings: %v, want an error naming linux.uidMappings", err)
	}

	// The shell still works after the refusals.
	b := bundleWith(t, nil, "true")
	c, err := container.Create(e.root, container.CreateOpts{ID: "fits", Bundle: b, Shell: sh})
	if err != nil {
		t.Fatalf("create after refusals: %v", err)
	}
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	if st := c.Init().Wait(); st.Code != 0 {
		t.Errorf("exit %+v", st)
	}
	if err := c.Delete(false); err != nil {
		t.Fatal(err)
	}
}

// TestShellJoins: a shell that joins existing namespaces (a pod's net,
// ipc and uts) fits a spec naming the same namespaces by another path.
func TestShellJoins(t *testing.T) {
	e := newEnv(t)
	sandbox := bundleWith(t, func(s *specs.Spec) { s.Hostname = "sandbox" }, "sleep", "1000")
	sb, err := container.Create(e.root, container.CreateOpts{ID: "sandbox", Bundle: sandbox})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Delete(true)
	pid := sb.Init().Pid
	join := func(s *specs.Spec, self string) {
		for i, n := range s.Linux.Namespaces {
			switch n.Type {
			case specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace:
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%s/ns/%s", self, map[specs.LinuxNamespaceType]string{
					specs.NetworkNamespace: "net", specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts"}[n.Type])
			}
		}
		s.Hostname = ""
	}
	s := testutil.DefaultSpec("hostname")
	join(s, fmt.Sprint(pid))
	sh := newShell(t, s)
	// The same namespaces through the init's task directory.
	b := bundleWith(t, func(s *specs.Spec) { join(s, fmt.Sprintf("%d/task/%d", pid, pid)) }, "hostname")
	r, w, _ := os.Pipe()
	defer r.Close()
	c, err := container.Create(e.root, container.CreateOpts{ID: "joiner", Bundle: b, Shell: sh, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	defer c.Delete(true)
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	c.Init().Wait()
	if string(out) != "sandbox\n" {
		t.Errorf("hostname %q, want the sandbox's", out)
	}
}

// TestShellDestroy: an unused shell, destroyed, leaves no process (the
// leak check) and its pid is gone; a shell whose init died is refused by
// Create with nothing left behind.
func TestShellDestroy(t *testing.T) {
	e := newEnv(t)
	sh := newShell(t, testutil.DefaultSpec("true"))
	pid := sh.Pid()
	sh.Destroy()
	sh.Destroy()
	if err := unix.Kill(pid, 0); err != unix.ESRCH {
		t.Errorf("destroyed shell's init %d: kill(0) = %v, want ESRCH", pid, err)
	}

	dead := newShell(t, testutil.DefaultSpec("true"))
	if err := unix.Kill(dead.Pid(), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; dead.Alive() && i < 200; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if dead.Alive() {
		t.Fatal("a killed shell still reports alive")
	}
	b := bundleWith(t, nil, "true")
	if _, err := container.Create(e.root, container.CreateOpts{ID: "dead", Bundle: b, Shell: dead}); err == nil ||
		!strings.Contains(err.Error(), "its init has exited") {
		t.Fatalf("create from a dead shell: err = %v", err)
	}
	if _, err := container.Create(e.root, container.CreateOpts{ID: "dead", Bundle: b, Shell: dead}); err == nil ||
		!strings.Contains(err.Error(), "already used") {
		t.Fatalf("create from a used shell: err = %v", err)
	}
}

// TestShellBadConfig: configs a shell cannot have fail NewShell naming the
// problem, and spawn nothing.
func TestShellBadConfig(t *testing.T) {
	newEnv(t)
	for _, tc := range []struct {
		name string
		cfg  container.ShellConfig
		want string
	}{
		{"no mount namespace", container.ShellConfig{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}}, "a new mount namespace is required"},
		{"mappings without userns", container.ShellConfig{
			Namespaces:  []specs.LinuxNamespace{{Type: specs.MountNamespace}},
			UIDMappings: []specs.LinuxIDMapping{{HostID: 1000, Size: 1}},
		}, "without a user namespace"},
		{"userns without mappings", container.ShellConfig{
			Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UserNamespace}},
		}, "mappings are required"},
		{"bad path", container.ShellConfig{
			Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace, Path: "/no/such/ns"}},
		}, "/no/such/ns"},
		{"unknown type", container.ShellConfig{Namespaces: []specs.LinuxNamespace{{Type: "bogus"}}}, "bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := container.NewShell(tc.cfg)
			if err == nil {
				sh.Destroy()
				t.Fatalf("NewShell succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestShellCgroupParent: a shell with a cgroup parent waits in a staging
// cgroup there; a container whose cgroup is its sibling gets it by rename
// (on cgroup v1; elsewhere by a move), one elsewhere by a move; either way
// no staging cgroup is left, and an unused shell takes its own with it.
func TestShellCgroupParent(t *testing.T) {
	e := newEnv(t)
	parent := fmt.Sprintf("/slrt/shelltest-%d", os.Getpid())
	t.Cleanup(func() {
		mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
		for _, m := range append(mounts, "/sys/fs/cgroup") {
			os.Remove(filepath.Join(m, parent))
		}
	})
	staged := func(pid int) string {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		return string(b)
	}
	for _, tc := range []struct{ name, cgroupsPath string }{
		{"sibling", parent + "/shellctr"},
		{"elsewhere", fmt.Sprintf("/slrt/shelltest-other-%d", os.Getpid())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bundleWith(t, func(s *specs.Spec) { s.Linux.CgroupsPath = tc.cgroupsPath }, "sh", "-c", "cat /proc/self/cgroup")
			cfg := container.ShellConfigFor(testutil.ReadSpec(t, b))
			cfg.CgroupParent = parent
			sh, err := container.NewShell(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sh.Destroy)
			if got := staged(sh.Pid()); !strings.Contains(got, parent+"/slrt-shell-") {
				t.Fatalf("parked init is not in a staging cgroup under %s:\n%s", parent, got)
			}
			// On cgroup v1 a rename keeps the directory's inode.
			stagingDirs, _ := filepath.Glob("/sys/fs/cgroup/pids" + parent + "/slrt-shell-*")
			var before unix.Stat_t
			v1 := len(stagingDirs) == 1 && unix.Stat(stagingDirs[0], &before) == nil
			r, w, _ := os.Pipe()
			defer r.Close()
			c, err := container.Create(e.root, container.CreateOpts{ID: "cg" + tc.name, Bundle: b, Shell: sh, Stdout: w, Stderr: w})
			w.Close()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Delete(true)
			var after unix.Stat_t
			renamed := v1 && unix.Stat("/sys/fs/cgroup/pids"+tc.cgroupsPath, &after) == nil && after.Ino == before.Ino
			if v1 && renamed != (tc.name == "sibling") {
				t.Errorf("staging cgroup renamed: %v, want %v", renamed, tc.name == "sibling")
			}
			if err := c.Start(nil); err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(r)
			c.Init().Wait()
			// Every v1 hierarchy names the container's cgroup; a hybrid
			// host's controller-less v2 twin ("0::") keeps the shell's
			// name when renamed (cgroups.Rename).
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if !strings.HasPrefix(line, "0::") && strings.Contains(line, "slrt-shell-") {
					t.Errorf("the workload runs in the staging cgroup: %s", line)
				}
			}
			if st, _ := c.State(); !strings.HasPrefix(st.CgroupPath, tc.cgroupsPath) {
				t.Errorf("container cgroup %q, want %q", st.CgroupPath, tc.cgroupsPath)
			}
			if err := c.Delete(false); err != nil {
				t.Fatal(err)
			}
			if left, _ := filepath.Glob("/sys/fs/cgroup/*" + parent + "/slrt-shell-*"); len(left) > 0 {
				t.Errorf("staging cgroups left: %v", left)
			}
		})
	}
	// Unused: Destroy removes the staging cgroup.
	cfg := container.ShellConfigFor(testutil.DefaultSpec("true"))
	cfg.CgroupParent = parent
	sh, err := container.NewShell(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sh.Destroy()
	if left, _ := filepath.Glob("/sys/fs/cgroup/*" + parent + "/slrt-shell-*"); len(left) > 0 {
		t.Errorf("staging cgroups left after Destroy: %v", left)
	}
	t.Cleanup(func() {
		mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
		for _, m := range append(mounts, "/sys/fs/cgroup") {
			os.Remove(filepath.Join(m, fmt.Sprintf("/slrt/shelltest-other-%d", os.Getpid())))
		}
	})
}

// TestShellDiesWithSpawner: a parked init whose spawner dies (a shim
// killed with SIGKILL) reads EOF on its sync socket and exits, so no
// shell outlives the process that owned it.
func TestShellDiesWithSpawner(t *testing.T) {
	if os.Getenv("SLRT_SHELL_SPAWNER") == "1" {
		sh, err := container.NewShell(container.ShellConfigFor(testutil.DefaultSpec("true")))
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("shell", sh.Pid())
		os.Exit(0) // no Destroy: as if killed
	}
	newEnv(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestShellDiesWithSpawner$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SLRT_SHELL_SPAWNER=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("spawner: %v: %s", err, out)
	}
	var pid int
	if _, err := fmt.Sscanf(string(out), "shell %d", &pid); err != nil {
		t.Fatalf("spawner said %q", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return // gone, or exited and waiting for its new parent
		}
		if time.Now().After(deadline) {
			unix.Kill(pid, unix.SIGKILL)
			t.Fatalf("shell %d still parked 10s after its spawner exited", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShellJoinUserNamespace: a shell for a pod with hostUsers: false
// joins the pod's user namespace at spawn (slrt-nsenter's clone mode), so
// its new namespaces are owned by it; a container joining that namespace
// is made from the shell and runs as its root, and a container joining
// another user namespace does not fit, naming it. A joined namespace
// takes no mappings in the shell's config.
func TestShellJoinUserNamespace(t *testing.T) {
	e := newEnv(t)
	const base = 400000
	h := newHolder(t, base)
	other := newHolder(t, base+65536)
	join := func(userns string) func(*specs.Spec) {
		return func(s *specs.Spec) {
			setNS(s, specs.UserNamespace, userns)
			setNS(s, specs.NetworkNamespace, h.pinned["net"])
			// containerd gives the pod's mappings with the path.
			s.Linux.UIDMappings, s.Linux.GIDMappings = h.maps, h.maps
		}
	}
	b := bundleWith(t, join(h.userns), "sh", "-c", "id -u; cat /proc/self/uid_map")
	testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
	sp := testutil.ReadSpec(t, b)
	sh := newShell(t, sp)
	want := nsID(t, h.userns)
	for _, k := range []string{"user", "mnt", "pid"} {
		path := fmt.Sprintf("/proc/%d/ns/%s", sh.Pid(), k)
		if k == "user" {
			if got := nsID(t, path); got != want {
				t.Errorf("the shell's user namespace is %d, want the pod's %d", got, want)
			}
		} else if got := ownerID(t, path); got != want {
			t.Errorf("the shell's %s namespace is owned by user namespace %d, want %d", k, got, want)
		}
	}

	sp2 := testutil.ReadSpec(t, bundleWith(t, join(other.userns), "true"))
	if err := sh.Fits(sp2); err == nil || !strings.Contains(err.Error(), other.userns) {
		t.Errorf("Fits with another user namespace: %v, want an error naming %s", err, other.userns)
	}

	r, w, _ := os.Pipe()
	defer r.Close()
	c, err := container.Create(e.root, container.CreateOpts{ID: "shelljoin", Bundle: b, Shell: sh, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	if c.Init().Pid != sh.Pid() {
		t.Errorf("the container's init is %d, not the shell's %d", c.Init().Pid, sh.Pid())
	}
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	c.Init().Wait()
	if got, wantOut := strings.Join(strings.Fields(string(out)), " "), fmt.Sprintf("0 0 %d 65536", base); got != wantOut {
		t.Errorf("output %q, want %q (root of the pod's user namespace)", got, wantOut)
	}

	cfg := container.ShellConfigFor(sp)
	cfg.UIDMappings, cfg.GIDMappings = h.maps, h.maps
	if sh, err := container.NewShell(cfg); err == nil {
		sh.Destroy()
		t.Error("NewShell with mappings for a joined user namespace succeeded")
	} else if !strings.Contains(err.Error(), "joined user namespace") {
		t.Errorf("NewShell with mappings for a joined user namespace: %v", err)
	}
}
