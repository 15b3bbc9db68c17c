package container_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/runtime/namespaces"
)

// holder is a long-lived process in a user namespace of its own (and a
// network namespace that namespace owns), as containerd makes for a pod
// with hostUsers: false; pinned are its namespaces bind-mounted on files,
// as containerd pins them, so they outlive the process.
type holder struct {
	pid    int
	userns string // /proc/PID/ns/user
	pinned map[string]string
	maps   []specs.LinuxIDMapping
}

func newHolder(t *testing.T, base int) *holder {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: base, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: base, Size: 65536}},
		Pdeathsig:   unix.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	h := &holder{pid: cmd.Process.Pid, pinned: map[string]string{},
		maps: []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(base), Size: 65536}}}
	h.userns = namespaces.ProcPath(h.pid, specs.UserNamespace)
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	t.Cleanup(stop)
	dir := t.TempDir()
	for _, k := range []string{"user", "net"} {
		p := filepath.Join(dir, k)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount(fmt.Sprintf("/proc/%d/ns/%s", h.pid, k), p, "", unix.MS_BIND, ""); err != nil {
			t.Fatalf("pin %s namespace: %v", k, err)
		}
		t.Cleanup(func() { _ = unix.Unmount(p, unix.MNT_DETACH) })
		h.pinned[k] = p
	}
	return h
}

// nsID is the inode of a namespace file: its identity.
func nsID(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// ownerID is the inode of the user namespace that owns the namespace at path.
func ownerID(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		t.Fatalf("NS_GET_USERNS %s: %v", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func setNS(s *specs.Spec, k specs.LinuxNamespaceType, path string) {
	for i := range s.Linux.Namespaces {
		if s.Linux.Namespaces[i].Type == k {
			s.Linux.Namespaces[i].Path = path
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: k, Path: path})
}

// TestJoinUserNamespace creates containers inside existing user
// namespaces: a holder process's (by /proc/PID/ns/user, as containerd 2.x
// gives an app container its pod's), a pinned namespace file whose
// process is gone (containerd's sandbox), with no mappings in the spec,
// and another container's. Each container is root inside with the
// namespace's mappings, its new namespaces are owned by the joined user
// namespace (so its rootfs, proc, sysfs and device binds were mounted
// there), and exec reaches it.
func TestJoinUserNamespace(t *testing.T) {
	e := newEnv(t)
	const base = 300000
	h := newHolder(t, base)
	// A container in another user namespace, to join as a pod's app
	// container joins its sandbox.
	sb := bundleWith(t, func(s *specs.Spec) {
		setNS(s, specs.UserNamespace, "")
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base + 65536, Size: 65536}}
		s.Linux.GIDMappings = s.Linux.UIDMappings
	}, "sleep", "1000")
	testutil.ChownTree(t, filepath.Join(sb, "rootfs"), base+65536)
	sandbox, err := container.Create(e.root, container.CreateOpts{ID: "sandbox", Bundle: sb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sandbox.Delete(true) })
	if err := sandbox.Start(nil); err != nil {
		t.Fatal(err)
	}
	spid := sandbox.Init().Pid

	cases := []struct {
		name   string
		edit   func(*specs.Spec)
		userns string // the namespace the container must be in
		owner  int    // the host uid of root inside
		kill   bool   // end the holder first: only the pinned files remain
	}{
		// With a cgroup namespace too: on cgroup v1 the init unshares it
		// after the move into its cgroups, as root of the joined namespace.
		{name: "holder process", userns: h.userns, owner: base, edit: func(s *specs.Spec) {
			setNS(s, specs.UserNamespace, h.userns)
			setNS(s, specs.CgroupNamespace, "")
			s.Linux.UIDMappings, s.Linux.GIDMappings = h.maps, h.maps
		}},
		// A pod sharing its pid namespace: the init is not that
		// namespace's pid 1, and the engine still learns its host pid.
		{name: "another container", userns: namespaces.ProcPath(spid, specs.UserNamespace), owner: base + 65536, edit: func(s *specs.Spec) {
			for _, k := range []specs.LinuxNamespaceType{specs.UserNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.PIDNamespace} {
				setNS(s, k, namespaces.ProcPath(spid, k))
			}
			s.Hostname = ""
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base + 65536, Size: 65536}}
			s.Linux.GIDMappings = s.Linux.UIDMappings
		}},
		// Last: it ends the holder.
		{name: "pinned file, no mappings in the spec", userns: h.pinned["user"], owner: base, kill: true, edit: func(s *specs.Spec) {
			setNS(s, specs.UserNamespace, h.pinned["user"])
			setNS(s, specs.NetworkNamespace, h.pinned["net"])
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := nsID(t, tc.userns)
			if tc.kill {
				syscall.Kill(h.pid, syscall.SIGKILL)
				for i := 0; i < 1000 && syscall.Kill(h.pid, 0) == nil && !zombie(h.pid); i++ {
					unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil)
				}
			}
			b := bundleWith(t, tc.edit, "sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map; ls -ln /dev/null; sleep 1000")
			testutil.ChownTree(t, filepath.Join(b, "rootfs"), tc.owner)
			r, w, _ := os.Pipe()
			defer r.Close()
			c, err := container.Create(e.root, container.CreateOpts{ID: "joiner", Bundle: b, Stdout: w, Stderr: w})
			w.Close()
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			defer c.Delete(true)
			pid := c.Init().Pid
			if got := nsID(t, fmt.Sprintf("/proc/%d/ns/user", pid)); got != want {
				t.Errorf("the init's user namespace is %d, want %d (%s)", got, want, tc.userns)
			}
			// Every namespace it made is the joined namespace's, not the
			// host's: its root could mount in them.
			kinds := []string{"mnt", "pid", "net", "ipc", "uts"}
			if tc.name == "holder process" {
				kinds = append(kinds, "cgroup")
			}
			for _, k := range kinds {
				if got := ownerID(t, fmt.Sprintf("/proc/%d/ns/%s", pid, k)); got != want {
					t.Errorf("%s namespace owned by user namespace %d, want %d", k, got, want)
				}
			}
			if err := c.Start(nil); err != nil {
				t.Fatalf("start: %v", err)
			}
			maps := fmt.Sprintf("0 %d 65536", tc.owner)
			line := func() string {
				var b [256]byte
				n, _ := r.Read(b[:])
				return strings.Join(strings.Fields(string(b[:n])), " ")
			}
			out := ""
			for i := 0; i < 10 && !strings.Contains(out, "/dev/null"); i++ {
				out += line() + " "
			}
			if wantOut := "0 " + maps + " " + maps + " crw-rw-rw-"; !strings.HasPrefix(out, wantOut) {
				t.Errorf("inside: %q, want it to start with %q (root, the namespace's maps, the host's /dev/null bound)", out, wantOut)
			}
			er, ew, _ := os.Pipe()
			p, err := c.Exec(container.ExecOpts{Stdout: ew, Stderr: ew, Process: &specs.Process{Args: []string{"sh", "-c", "id -u; readlink /proc/self/ns/user"}}})
			ew.Close()
			if err != nil {
				er.Close()
				t.Fatalf("exec: %v", err)
			}
			got, _ := readAll(er)
			if st := p.Wait(); st.Code != 0 || !strings.HasPrefix(got, "0\nuser:[") || !strings.Contains(got, fmt.Sprint(want)) {
				t.Errorf("exec: %+v %q, want root in user namespace %d", st, got, want)
			}
		})
	}
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// TestJoinUserNamespaceBadInput: a user namespace path that is missing,
// not a namespace or of another type, and mappings the joined namespace
// does not have, each fail Create naming what is wrong, with nothing left
// behind (newEnv's leak check: no process, mount, cgroup, fd or state).
func TestJoinUserNamespaceBadInput(t *testing.T) {
	e := newEnv(t)
	const base = 400000
	h := newHolder(t, base)
	other := []specs.LinuxIDMapping{{ContainerID: 0, HostID: base + 1, Size: 65536}}
	regular := filepath.Join(t.TempDir(), "file")
	os.WriteFile(regular, nil, 0o600)
	cases := []struct {
		name       string
		path       string
		uids, gids []specs.LinuxIDMapping
		want       string
	}{
		{"missing file", "/no/such/userns", h.maps, h.maps, "open namespace /no/such/userns"},
		{"not a namespace", regular, h.maps, h.maps, regular + " is not a namespace"},
		{"another type", fmt.Sprintf("/proc/%d/ns/net", h.pid), h.maps, h.maps, "is a namespace of another type"},
		{"uid mappings differ", h.userns, other, h.maps, fmt.Sprintf("linux.uidMappings [0:%d:65536] do not match the user namespace %s, which maps [0:%d:65536]", base+1, h.userns, base)},
		{"gid mappings differ", h.pinned["user"], h.maps, other, "linux.gidMappings [0:400001:65536] do not match the user namespace " + h.pinned["user"]},
		{"more mappings than the namespace has", h.userns, append([]specs.LinuxIDMapping{{ContainerID: 70000, HostID: 1000, Size: 1}}, h.maps...), h.maps, "linux.uidMappings [70000:1000:1 0:400000:65536] do not match"},
		{"uid mappings only", h.userns, h.maps, nil, "give both or neither"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bundleWith(t, func(s *specs.Spec) {
				setNS(s, specs.UserNamespace, tc.path)
				s.Linux.UIDMappings, s.Linux.GIDMappings = tc.uids, tc.gids
			}, "/bin/true")
			testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
			c, err := container.Create(e.root, container.CreateOpts{ID: "bad", Bundle: b})
			if err == nil {
				c.Delete(true)
				t.Fatalf("create succeeded, want an error mentioning %q", tc.want)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(e.root, "bad")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("state dir left behind after a failed create")
			}
		})
	}
}

// TestV2JoinUserNS runs in TestPureV2's child, on a cgroup v2 view: the
// init cloned by slrt-nsenter inside a joined user namespace is in the
// container's cgroup before it runs (the helper was cloned into it and the
// init inherits it), and its cgroup namespace, made at that clone, is
// rooted there and owned by the joined namespace.
func TestV2JoinUserNS(t *testing.T) {
	e := enterPureV2(t)
	const base = 500000
	h := newHolder(t, base)
	b := bundleWith(t, func(s *specs.Spec) {
		setNS(s, specs.UserNamespace, h.userns)
		setNS(s, specs.CgroupNamespace, "")
		s.Linux.UIDMappings, s.Linux.GIDMappings = h.maps, h.maps
	}, "cat", "/proc/self/cgroup")
	testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
	r, w, _ := os.Pipe()
	defer r.Close()
	c, err := container.Create(e.root, container.CreateOpts{ID: "v2userns", Bundle: b, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	pid := c.Init().Pid
	if self := readFile(t, fmt.Sprintf("/proc/%d/cgroup", pid)); !strings.Contains(self, "0::/slrt/v2userns") {
		t.Errorf("parked init's cgroup = %q, want 0::/slrt/v2userns", self)
	}
	if got, want := ownerID(t, fmt.Sprintf("/proc/%d/ns/cgroup", pid)), nsID(t, h.userns); got != want {
		t.Errorf("cgroup namespace owned by user namespace %d, want %d", got, want)
	}
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	out, _ := readAll(r)
	// (The host's v1 hierarchies show too: only the v2 line is ours.)
	if st := c.Init().Wait(); st.Code != 0 || !strings.Contains(out, "\n0::/\n") {
		t.Errorf("inside: exit %+v, %q; want 0::/ (its own cgroup namespace)", st, out)
	}
}

// TestJoinUserNamespaceCloneFails: when slrt-nsenter cannot make the
// container's namespaces inside the joined one (here its limit of IPC
// namespaces is 0, set from inside it), Create fails naming the step and
// the errno the helper reported, with nothing left behind.
func TestJoinUserNamespaceCloneFails(t *testing.T) {
	e := newEnv(t)
	const base = 700000
	h := newHolder(t, base)
	// The limit is the user namespace's own sysctl: written by its root.
	set := exec.Command("nsenter", "-t", fmt.Sprint(h.pid), "-U", "--", "sh", "-c", "echo 0 > /proc/sys/user/max_ipc_namespaces")
	if out, err := set.CombinedOutput(); err != nil {
		t.Skipf("cannot limit the holder's IPC namespaces: %v %s", err, out)
	}
	b := bundleWith(t, func(s *specs.Spec) {
		setNS(s, specs.UserNamespace, h.userns)
		s.Linux.UIDMappings, s.Linux.GIDMappings = h.maps, h.maps
	}, "/bin/true")
	testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
	// The helper says it on stderr too (the shim's log, the CLI's terminal).
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	c, err := container.Create(e.root, container.CreateOpts{ID: "noipc", Bundle: b, Stderr: stderr})
	if err == nil {
		c.Delete(true)
		t.Fatal("create succeeded with no IPC namespace left to make")
	}
	t.Logf("error: %v", err)
	if want := "slrt-nsenter: clone the init into new namespaces: no space left on device"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(e.root, "noipc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir left behind after a failed create")
	}
	if got, _ := os.ReadFile(stderr.Name()); string(got) != "slrt-nsenter: clone the init into new namespaces: errno 28\n" {
		t.Errorf("stderr = %q", got)
	}
}
