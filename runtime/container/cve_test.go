package container_test

// Each test performs the essence of a runc CVE against slrt and asserts the
// attack fails. They are named after the CVE so a reader finds them.

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/runtime/terminal"
)

// execOut runs args in c and returns the combined output and exit code.
func execOut(t *testing.T, c *container.Container, p *specs.Process) (string, int) {
	t.Helper()
	r, w, _ := os.Pipe()
	proc, err := c.Exec(container.ExecOpts{Process: p, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("exec: %v", err)
	}
	out, _ := readAll(r)
	return out, proc.Wait().Code
}

// CVE-2019-5736: a container process overwrote the runtime binary through
// /proc/PID/exe of the runtime process that entered the container. Here the
// process in the container is slrt-init, exec'd from a sealed memfd and not
// dumpable: /proc/1/exe is neither reachable nor writable.
func TestCVE_2019_5736_RuntimeBinaryOverwrite(t *testing.T) {
	e := newEnv(t)
	c, err := container.Create(e.root, container.CreateOpts{ID: "cve5736", Bundle: bundleWith(t, nil, "/bin/true")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(true) })
	// The container is created, not started: pid 1 is the parked init.
	out, _ := execOut(t, c, &specs.Process{Args: []string{"sh", "-c",
		"echo x >> /proc/1/exe && echo WROTE-EXE; readlink /proc/1/exe && echo READ-EXE; readlink /proc/1/fd/0 && echo READ-FD; true"}})
	if strings.Contains(out, "WROTE-EXE") || strings.Contains(out, "READ-EXE") || strings.Contains(out, "READ-FD") {
		t.Errorf("a container process reached the init's exe or fds:\n%s", out)
	}
	// And the init really is the sealed memfd, not a file on disk.
	exe, err := os.Readlink("/proc/" + itoa(c.Init().Pid) + "/exe")
	if err != nil || !strings.HasPrefix(exe, "/memfd:slrt-init") {
		t.Errorf("init exe = %q (%v), want the slrt-init memfd", exe, err)
	}
}

// CVE-2019-16884: an image whose /proc is a symlink made the runtime write
// LSM attributes into a file of the image's choice. A /proc that is not
// the root of a real proc mount is refused before any procfs write.
func TestCVE_2019_16884_ProcSymlink(t *testing.T) {
	e := newEnv(t)
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"kernel.shmmni": "2048"}
	}, "/bin/true")
	rootfs := filepath.Join(b, "rootfs")
	os.Remove(filepath.Join(rootfs, "proc"))
	os.MkdirAll(filepath.Join(rootfs, "fakeproc/sys/kernel"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "fakeproc/sys/kernel/shmmni"), []byte("fake"), 0o644)
	if err := os.Symlink("/fakeproc", filepath.Join(rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	_, err := container.Create(e.root, container.CreateOpts{ID: "cve16884", Bundle: b})
	if err == nil || !strings.Contains(err.Error(), "/proc") {
		t.Errorf("create with /proc a symlink: err = %v, want a refusal naming /proc", err)
	}
}

// CVE-2019-19921: a volume mounted over /proc did the same as the symlink.
// Mounting anything but procfs on /proc is refused when the plan is made.
func TestCVE_2019_19921_VolumeOverProc(t *testing.T) {
	e := newEnv(t)
	vol := t.TempDir()
	b := bundleWith(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/proc", Type: "bind", Source: vol, Options: []string{"rbind"}})
	}, "/bin/true")
	_, err := container.Create(e.root, container.CreateOpts{ID: "cve19921", Bundle: b})
	if err == nil || !strings.Contains(err.Error(), "/proc") {
		t.Errorf("create with a bind mount over /proc: err = %v, want a refusal naming /proc", err)
	}
}

// CVE-2021-30465: a mount destination that is (or races to become) a
// symlink out of the root put a mount on the host. Targets are resolved
// inside the root and mounted through an fd, so the mount lands inside.
func TestCVE_2021_30465_MountTargetSymlink(t *testing.T) {
	e := newEnv(t)
	const name = "slrt-cve-2021-30465"
	if _, err := os.Stat("/tmp/" + name); err == nil {
		t.Fatalf("/tmp/%s exists on the host before the test", name)
	}
	// evil climbs "above" the root: resolved in the root, that is the
	// container's /tmp; resolved on the host, the host's /tmp.
	b := bundleWith(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/evil/" + name, Type: "tmpfs", Source: "tmpfs"})
	}, "sh", "-c", "grep -c ' /tmp/"+name+" ' /proc/self/mountinfo")
	if err := os.Symlink("../../../../../../../../../../tmp", filepath.Join(b, "rootfs/evil")); err != nil {
		t.Fatal(err)
	}
	res := e.run("cve30465", b, nil)
	if res.status.Code != 0 || strings.TrimSpace(res.out) != "1" {
		t.Errorf("the tmpfs is not at /tmp/%s inside the container: exit %d, %q", name, res.status.Code, res.out)
	}
	if _, err := os.Stat("/tmp/" + name); err == nil {
		os.Remove("/tmp/" + name)
		t.Errorf("the mount target was created on the host at /tmp/%s", name)
	}

	// A symlink to an absolute host path that does not exist in the root
	// is refused, not followed on the host.
	hostDir := t.TempDir()
	b = bundleWith(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/evil2/x", Type: "tmpfs", Source: "tmpfs"})
	}, "/bin/true")
	os.Symlink(hostDir, filepath.Join(b, "rootfs/evil2"))
	if c, err := container.Create(e.root, container.CreateOpts{ID: "cve30465b", Bundle: b}); err == nil {
		c.Delete(true)
		t.Errorf("create with a mount through a symlink to a host path succeeded")
	}
	if _, err := os.Stat(filepath.Join(hostDir, "x")); err == nil {
		t.Errorf("the mount target was created on the host in %s", hostDir)
	}
}

// CVE-2022-29162: runc gave processes inheritable capabilities by
// default. The default spec gives none, to the init or to exec.
func TestCVE_2022_29162_NoInheritableCaps(t *testing.T) {
	e := newEnv(t)
	c, err := container.Create(e.root, container.CreateOpts{ID: "cve29162", Bundle: bundleWith(t, nil, "sleep", "1000")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(true) })
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	status, _ := os.ReadFile("/proc/" + itoa(c.Init().Pid) + "/status")
	out, _ := execOut(t, c, &specs.Process{Args: []string{"grep", "-E", "^Cap(Inh|Amb)", "/proc/self/status"}})
	for name, text := range map[string]string{"init": string(status), "exec": out} {
		for _, want := range []string{"CapInh:\t0000000000000000", "CapAmb:\t0000000000000000"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: lacks %q:\n%s", name, want, text)
			}
		}
	}
}

// CVE-2024-21626: an fd of a host directory leaked into the container
// process, and process.cwd "/proc/self/fd/N" walked out of the root through
// it. Here the only way to hand the init a host directory is on purpose
// (ExtraFiles, --preserve-fds): even then a cwd through it is refused.
func TestCVE_2024_21626_CwdThroughLeakedFD(t *testing.T) {
	e := newEnv(t)
	host, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	for _, fd := range []string{"3", "4", "5", "6", "7"} {
		b := bundleWith(t, func(s *specs.Spec) { s.Process.Cwd = "/proc/self/fd/" + fd }, "pwd")
		c, err := container.Create(e.root, container.CreateOpts{ID: "cve21626", Bundle: b, ExtraFiles: []*os.File{host}})
		if err == nil {
			c.Delete(true)
			t.Errorf("cwd /proc/self/fd/%s: create succeeded, want a refusal", fd)
		}
	}
}

// CVE-2025-31133: the container replaced /dev/null with a symlink, and the
// runtime's bind of "/dev/null" over masked paths made a host file
// writable. Masking checks /dev/null really is the null device.
func TestCVE_2025_31133_MaskedPathDevNull(t *testing.T) {
	e := newEnv(t)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("untouched"), 0o644)
	b := bundleWith(t, nil, "/bin/true")
	rootfs := filepath.Join(b, "rootfs")
	s := readSpec(t, b)
	// createContainer hooks run in the container's mount namespace after
	// the devices exist and before masking: the attacker's moment.
	s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
		"rm -f " + rootfs + "/dev/null && ln -s " + victim + " " + rootfs + "/dev/null"}}}}
	writeSpec(t, b, s)
	_, err := container.Create(e.root, container.CreateOpts{ID: "cve31133", Bundle: b})
	if err == nil || !strings.Contains(err.Error(), "/dev/null") {
		t.Errorf("create with /dev/null replaced by a symlink: err = %v, want a refusal naming /dev/null", err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "untouched" {
		t.Errorf("host file changed: %q", got)
	}
}

// CVE-2025-52881: a file mounted over a procfs file redirected the
// runtime's write (a sysctl here) to the attacker's file. Procfs writes go
// through openat2 refusing mount crossings.
func TestCVE_2025_52881_ProcfsWriteRedirect(t *testing.T) {
	e := newEnv(t)
	decoy := filepath.Join(t.TempDir(), "decoy")
	os.WriteFile(decoy, []byte("untouched"), 0o644)
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"kernel.shmmni": "2048"}
	}, "/bin/true")
	rootfs := filepath.Join(b, "rootfs")
	s := readSpec(t, b)
	s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/mount", Args: []string{"mount", "--bind", decoy, rootfs + "/proc/sys/kernel/shmmni"}}}}
	writeSpec(t, b, s)
	_, err := container.Create(e.root, container.CreateOpts{ID: "cve52881", Bundle: b})
	if err == nil || !strings.Contains(err.Error(), "shmmni") {
		t.Errorf("create with a file mounted over the sysctl: err = %v, want a refusal naming it", err)
	}
	if got, _ := os.ReadFile(decoy); string(got) != "untouched" {
		t.Errorf("the write was redirected into the decoy: %q", got)
	}
}

func readSpec(t *testing.T, b string) *specs.Spec     { return testutil.ReadSpec(t, b) }
func writeSpec(t *testing.T, b string, s *specs.Spec) { testutil.WriteSpec(t, b, s) }

// CVE-2025-52565: runc bind-mounted the pty slave over /dev/console, and a
// container racing that bind (a symlink in its place) had a host path
// mounted writable. slrt never mounts anything on /dev/console: the
// terminal is the container's own devpts slave, opened after pivot_root.
func TestCVE_2025_52565_NoConsoleBind(t *testing.T) {
	e := newEnv(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console-peer")
	defer ours.Close()
	b := bundleWith(t, func(s *specs.Spec) { s.Process.Terminal = true }, "sh", "-c",
		"grep -c ' /dev/console ' /proc/self/mountinfo; tty")
	c, err := container.Create(e.root, container.CreateOpts{ID: "cve52565", Bundle: b, ConsoleFD: int(theirs.Fd())})
	theirs.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Delete(true)
	master, err := terminal.RecvMaster(ours)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	c.Init().Wait()
	out, _ := io.ReadAll(master) // EIO once the slave side is gone
	if got := strings.Fields(strings.ReplaceAll(string(out), "\r", "")); len(got) != 2 || got[0] != "0" || !strings.HasPrefix(got[1], "/dev/pts/") {
		t.Errorf("inside: %q, want no mount on /dev/console and a /dev/pts terminal", out)
	}
}
