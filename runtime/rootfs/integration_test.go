package rootfs

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slrt/slrt/internal/testutil"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// script runs in the container; its sections are checked by the test.
const script = `cat /proc/self/mountinfo
echo "==== dev"
ls -ln /dev
echo "==== checks"
touch /rootw 2>/dev/null && echo root=rw || echo root=ro
echo x > /proc/sys/kernel/domainname 2>/dev/null && echo procsys=rw || echo procsys=ro
echo timer_list=$(wc -c < /proc/timer_list)
echo acpi=$(ls -A /proc/acpi | wc -l)
echo hostfile=$(cat /tmp/x/hostfile)
echo escfile=$(cat /etc/slrt-escape-test/hostfile)
echo filebind=$(cat /data/file.txt)
echo pid=$$
`

// runcMounts are the mounts of runc's default spec (`runc spec`).
func runcMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}

// testRootfs makes a busybox rootfs with symlinks that try to lead mounts
// out of it.
func testRootfs(t *testing.T, bundle string) {
	t.Helper()
	root := filepath.Join(bundle, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp/x"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link("/bin/busybox", filepath.Join(root, "bin/busybox")); err != nil {
		b, err := os.ReadFile("/bin/busybox")
		if err != nil {
			t.Skipf("no busybox: %v", err)
		}
		if err := os.WriteFile(filepath.Join(root, "bin/busybox"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"bin/sh": "busybox",
		"evil":   "/etc",
		"esc":    "../../../../tmp/x",
		"dangle": "/nonexistent-slrt/x",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
}

// testSpec is runc's default spec plus binds through the escaping symlinks.
func testSpec(host string) *specs.Spec {
	mounts := append(runcMounts(),
		specs.Mount{Destination: "/evil/slrt-escape-test", Type: "bind", Source: host, Options: []string{"rbind", "ro", "nosuid"}},
		specs.Mount{Destination: "/esc", Type: "bind", Source: host, Options: []string{"bind"}},
		specs.Mount{Destination: "/data/file.txt", Type: "bind", Source: filepath.Join(host, "hostfile"), Options: []string{"bind", "ro"}},
	)
	return &specs.Spec{
		Root:   &specs.Root{Path: "rootfs", Readonly: true},
		Mounts: mounts,
		Linux: &specs.Linux{
			Devices: []specs.LinuxDevice{{Path: "/dev/kmsg2", Type: "c", Major: 1, Minor: 11, FileMode: mode(0o600), UID: u32(1000), GID: u32(1000)}},
			MaskedPaths: []string{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// rootfsCase is one container TestCRootfs builds with the C init's
// rootfs steps.
type rootfsCase struct {
	name     string
	modify   func(s *specs.Spec)
	setup    func(t *testing.T, rootfs string) // changes the image
	noPivot  bool
	cgroupNS bool
	userNS   bool
	error    string // expected in the child's stderr; "" = must succeed
}

var rootfsCases = []rootfsCase{
	{name: "pivot, cgroup namespace", cgroupNS: true},
	{name: "no pivot, host cgroup namespace, rprivate", noPivot: true,
		modify: func(s *specs.Spec) { s.Linux.RootfsPropagation = "rprivate" }},
	// Devices become binds of the host's nodes (none for kmsg2), the
	// binds' locked flags (relatime from the host /tmp) must be kept.
	{name: "user namespace", cgroupNS: true, userNS: true,
		modify: func(s *specs.Spec) { s.Linux.Devices = nil }},
	{name: "rshared", cgroupNS: true,
		modify: func(s *specs.Spec) { s.Linux.RootfsPropagation = "rshared" }},
	{name: "dangling symlink as destination",
		modify: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dangle", Type: "tmpfs", Source: "tmpfs"})
		},
		error: "create /dangle (in "},
	{name: "symlink loop as destination",
		setup: func(t *testing.T, rootfs string) { symlink(t, "loop", filepath.Join(rootfs, "loop")) },
		modify: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/loop/x", Type: "tmpfs", Source: "tmpfs"})
		},
		error: "open /loop/x (in "},
	{name: "file in the way of a destination",
		setup: func(t *testing.T, rootfs string) { writeFile(t, filepath.Join(rootfs, "etc/f"), "x") },
		modify: func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/f/x", Type: "tmpfs", Source: "tmpfs"})
		},
		error: "/etc/f/x (in "},
	// Without a /dev tmpfs the image's /dev/null stays (mknod: EEXIST);
	// masking must not bind a regular file over /proc/timer_list.
	{name: "image /dev/null a regular file",
		setup: func(t *testing.T, rootfs string) { writeFile(t, filepath.Join(rootfs, "dev/null"), "secret") },
		modify: func(s *specs.Spec) {
			var kept []specs.Mount
			for _, m := range s.Mounts {
				if !under(m.Destination, "/dev") {
					kept = append(kept, m)
				}
			}
			s.Mounts = kept
		},
		error: "/dev/null is not the null device (1:3)"},
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runRootfsCase builds tt's container with the C driver and checks it.
func runRootfsCase(t *testing.T, tt rootfsCase, driver string) {
	bundle := t.TempDir()
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "hostfile"), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testRootfs(t, bundle)
	if tt.setup != nil {
		tt.setup(t, filepath.Join(bundle, "rootfs"))
	}
	checkNoLeaks(t, bundle, host)

	spec := testSpec(host)
	if tt.cgroupNS {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	if tt.modify != nil {
		tt.modify(spec)
	}
	plan, err := Plan(spec, bundle, tt.userNS)
	if err != nil {
		t.Fatal(err)
	}
	plan.NoPivot = tt.noPivot

	flags := syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC
	if tt.cgroupNS {
		flags |= syscall.CLONE_NEWCGROUP
	}
	cmd, start := cChild(t, driver, plan, script, tt.userNS)
	stdout, stderr, err := runInNamespaces(t, cmd, start, uintptr(flags), tt.userNS)
	if tt.error != "" {
		if err == nil || !strings.Contains(stderr, tt.error) {
			t.Fatalf("child err = %v, stderr %q, want %q", err, stderr, tt.error)
		}
		t.Logf("child error: %s", stderr)
		if _, err := os.Lstat("/nonexistent-slrt"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("/nonexistent-slrt on the host: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("child: %v\nstderr: %s\nstdout: %s", err, stderr, stdout)
	}
	if testing.Verbose() {
		t.Logf("container output:\n%s", stdout)
	}
	checkOutput(t, stdout, tt.cgroupNS, !tt.userNS)

	// The binds through evil and esc were created inside the
	// rootfs, never on the host.
	if _, err := os.Stat("/etc/slrt-escape-test"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("/etc/slrt-escape-test on the host: %v", err)
	}
	if _, err := os.Stat(filepath.Join(bundle, "rootfs/etc/slrt-escape-test")); err != nil {
		t.Errorf("mount point through evil -> /etc not made inside the rootfs: %v", err)
	}
}

// runInNamespaces runs cmd in new namespaces (flags, and a user namespace
// mapping root to root when userNS) and returns its output.
func runInNamespaces(t *testing.T, cmd *exec.Cmd, start func(), flags uintptr, userNS bool) (string, string, error) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	if userNS {
		// Root maps to root: files in the rootfs keep their owners, yet
		// every mount copied from the host is locked (sysfs also needs a
		// network namespace the user namespace owns).
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = io.Reader(nil)
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	if start != nil {
		start()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), errb.String(), err
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return out.String(), errb.String(), errors.New("child timed out after 30s")
	}
}

// checkOutput checks the container's mount table, /dev and the checks
// section of the script.
func checkOutput(t *testing.T, out string, cgroupNS, kmsg2 bool) {
	t.Helper()
	mountinfo, rest, _ := strings.Cut(out, "==== dev\n")
	dev, checks, _ := strings.Cut(rest, "==== checks\n")

	mounts := map[string]testutil.MountinfoEntry{}
	for _, line := range strings.Split(strings.TrimSpace(mountinfo), "\n") {
		e, err := testutil.ParseMountinfoLine(line)
		if err != nil {
			t.Fatalf("container mountinfo: %v\n%s", err, out)
		}
		mounts[e.Point] = e // the last mount on a point is the visible one
	}
	for _, w := range []struct{ point, fstype, opts string }{
		{"/", "", "ro"},
		{"/proc", "proc", "rw"},
		{"/dev", "tmpfs", "nosuid"},
		{"/dev/pts", "devpts", "noexec"},
		{"/dev/shm", "tmpfs", "nodev"},
		{"/dev/mqueue", "mqueue", "nosuid"},
		{"/sys", "sysfs", "ro"},
		{"/sys/fs/cgroup", "tmpfs", "ro"},
		{"/sys/fs/cgroup/memory", "cgroup", "ro"},
		{"/sys/fs/cgroup/systemd", "cgroup", "ro"},
		{"/sys/fs/cgroup/unified", "cgroup2", "ro"},
		{"/etc/slrt-escape-test", "", "ro"},
		{"/tmp/x", "", "rw"},
		{"/data/file.txt", "", "ro"},
		{"/proc/sys", "proc", "ro"},
		{"/proc/timer_list", "", ""}, // /dev/null: tmpfs node, or devtmpfs bind in a user namespace
		{"/proc/acpi", "tmpfs", "ro"},
		{"/sys/firmware", "tmpfs", "ro"},
	} {
		e, ok := mounts[w.point]
		if !ok {
			t.Errorf("container has no mount on %s", w.point)
			continue
		}
		if w.fstype != "" && e.FSType != w.fstype {
			t.Errorf("mount on %s is %s, want %s", w.point, e.FSType, w.fstype)
		}
		for _, o := range strings.Split(w.opts, ",") {
			if o != "" && !hasOption(e.Options, o) {
				t.Errorf("mount on %s has options %s, want %s", w.point, e.Options, o)
			}
		}
	}
	// In a cgroup namespace the hierarchy's root is our own cgroup; a bind
	// from the host shows the path of our cgroup inside the hierarchy.
	if e := mounts["/sys/fs/cgroup/memory"]; cgroupNS && e.Root != "/" {
		t.Errorf("memory cgroup root %q in a cgroup namespace, want /", e.Root)
	}

	for _, w := range []struct{ perm, uid, gid, major, minor, name string }{
		{"crw-rw-rw-", "0", "0", "1,", "3", "null"},
		{"crw-rw-rw-", "0", "0", "1,", "5", "zero"},
		{"crw-rw-rw-", "0", "0", "1,", "7", "full"},
		{"crw-rw-rw-", "0", "0", "1,", "8", "random"},
		{"crw-rw-rw-", "0", "0", "1,", "9", "urandom"},
		{"crw-rw-rw-", "0", "0", "5,", "0", "tty"},
		{"crw-------", "1000", "1000", "1,", "11", "kmsg2"},
	} {
		if w.name == "kmsg2" && !kmsg2 {
			continue
		}
		found := false
		for _, line := range strings.Split(dev, "\n") {
			f := strings.Fields(line)
			if len(f) > 5 && f[len(f)-1] == w.name {
				found = true
				if got := [5]string{f[0], f[2], f[3], f[4], f[5]}; got != [5]string{w.perm, w.uid, w.gid, w.major, w.minor} {
					t.Errorf("/dev/%s is %v, want %v", w.name, got, [5]string{w.perm, w.uid, w.gid, w.major, w.minor})
				}
			}
		}
		if !found {
			t.Errorf("ls -ln /dev has no %s:\n%s", w.name, dev)
		}
	}
	links := []string{"fd -> /proc/self/fd", "stdin -> /proc/self/fd/0", "stdout -> /proc/self/fd/1",
		"stderr -> /proc/self/fd/2", "ptmx -> pts/ptmx"}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, "core -> /proc/kcore")
	}
	for _, w := range links {
		if !hasLine(dev, w) {
			t.Errorf("ls -ln /dev has no %q:\n%s", w, dev)
		}
	}
	for _, w := range []string{"root=ro", "procsys=ro", "timer_list=0", "acpi=0", "hostfile=from-host",
		"escfile=from-host", "filebind=from-host", "pid=1"} {
		if !hasLine(checks, w) {
			t.Errorf("container checks: no %q in\n%s", w, checks)
		}
	}
}

func hasOption(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

// hasLine reports whether a line of out, with runs of blanks squeezed,
// contains want.
func hasLine(out, want string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(strings.Join(strings.Fields(line), " "), want) {
			return true
		}
	}
	return false
}
