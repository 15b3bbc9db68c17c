package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/fgac/policy"
	fgacspec "github.com/slrt/slrt/fgac/spec"
	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/container"
)

// The integration tests run the agent in the test process and real
// user-namespaced containers (root in the container is host uid base):
// the seed's demonstration and the attacks of issue 8.

const testPolicy = `{
  "profiles": [
    {
      "name": "scratch",
      "namespaces": ["edge"],
      "standalone": true,
      "rules": [
        {"mount": {"fstype": "tmpfs", "targets": ["/mnt/*"], "maxSize": "16M"}},
        {"mount": {"bind": "@BIND@", "source": "/host", "readOnly": true, "targets": ["/mnt/b"]}},
        {"umount": {"targets": ["/mnt/*"]}},
        {"mknod": {"devices": ["c 1:3", "c 1:5"], "targets": ["/tmp/*"]}},
        {"sethostname": {"names": ["fgac-*"]}}
      ]
    }
  ]
}
`

// env is one test's engine root, agent and log, with the leak check armed.
type env struct {
	t      testing.TB
	root   string
	a      *Agent
	sock   string
	policy string
	// bindSrc is the host directory the policy lets containers bind.
	bindSrc string

	mu  sync.Mutex
	log bytes.Buffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	testutil.RequireRoot(t)
	root := testutil.StateRoot(t)
	testutil.Leaks(t, root)
	dir, err := os.MkdirTemp(filepath.Dir(root), "fgac-")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, root: root, sock: filepath.Join(dir, "agent.sock"), policy: filepath.Join(dir, "fgac.json")}
	// The bind rule's host directory, with one file in it.
	e.bindSrc = filepath.Join(dir, "bindsrc")
	if err := os.Mkdir(e.bindSrc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.bindSrc, "hello"), []byte("hello from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.policy, []byte(strings.ReplaceAll(testPolicy, "@BIND@", e.bindSrc)), 0o600); err != nil {
		t.Fatal(err)
	}
	if e.a, err = New(e.policy); err != nil {
		t.Fatal(err)
	}
	e.a.Logf = func(format string, args ...any) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.log.WriteString(strings.TrimSuffix(sprintf(format, args...), "\n") + "\n")
	}
	l, err := Listen(e.sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.a.Serve(l) }()
	t.Cleanup(func() {
		e.a.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		os.RemoveAll(dir)
		if t.Failed() {
			t.Logf("agent log:\n%s", e.logText())
		}
	})
	return e
}

func (e *env) logText() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log.String()
}

// bundle makes a user-namespaced bundle running script, with the
// annotations, /mnt/a, /mnt/b and /opt/a in its rootfs, and the seccomp
// section edited by fgac (nil: none).
func (e *env) bundle(base int, ann map[string]string, fgac func(*specs.Spec), script string) string {
	t := e.t
	t.Helper()
	b := testutil.Bundle(t, "sh", "-c", script)
	s := testutil.ReadSpec(t, b)
	s.Root.Readonly = false
	s.Annotations = ann
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(base), Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(base), Size: 65536}}
	if fgac != nil {
		fgac(s)
	}
	testutil.WriteSpec(t, b, s)
	rootfs := filepath.Join(b, "rootfs")
	for _, d := range []string{"mnt/a", "mnt/b", "opt/a"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addProbe(t, rootfs)
	testutil.ChownTree(t, rootfs, base)
	return b
}

// withProfile is the runtime side: the annotation's profile merged into
// the spec, as the CLI and the shim do.
func (e *env) withProfile(s *specs.Spec) {
	e.t.Helper()
	if ok, err := fgacspec.FromAnnotations(s, e.a.Policy(), e.sock); !ok || err != nil {
		e.t.Fatalf("FromAnnotations: %v, %v", ok, err)
	}
}

// addProbe copies the static testdata/fgacprobe into rootfs/bin.
func addProbe(t testing.TB, rootfs string) {
	t.Helper()
	b := testutil.StaticHelper(t, "./testdata/fgacprobe")
	if err := os.WriteFile(filepath.Join(rootfs, "bin/fgacprobe"), b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// run creates, starts and waits for a container; it returns its output.
func (e *env) run(id, bundle string) string {
	e.t.Helper()
	c, r := e.start(id, bundle)
	out, _ := io.ReadAll(r)
	r.Close()
	c.Init().Wait()
	return string(out)
}

// start creates and starts a container whose output the returned pipe
// reads; it is deleted when the test ends.
func (e *env) start(id, bundle string) (*container.Container, *os.File) {
	e.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := container.Create(e.root, container.CreateOpts{ID: id, Bundle: bundle, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		r.Close()
		e.t.Fatalf("create %s: %v", id, err)
	}
	e.t.Cleanup(func() {
		if err := c.Delete(true); err != nil {
			e.t.Errorf("delete %s: %v", id, err)
		}
	})
	if err := c.Start(nil); err != nil {
		r.Close()
		e.t.Fatalf("start %s: %v", id, err)
	}
	return c, r
}

func wantLines(t testing.TB, who, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", who, w, out)
		}
	}
}

// TestTmpfsOnlyInA is the seed's demonstration: two user-namespaced
// containers run mount -t tmpfs; A's namespace may use the profile that
// allows it, and the tmpfs appears in A (owned by A's root, size as
// asked) and nowhere else; B's namespace may not, and B gets EPERM. The
// runtime side refuses B's annotation too; B's spec is made by hand, as a
// runc user could.
func TestTmpfsOnlyInA(t *testing.T) {
	e := newEnv(t)
	const base = 300000
	a := e.bundle(base, map[string]string{policy.ProfileAnnotation: "scratch", policy.NamespaceAnnotation: "edge"}, e.withProfile,
		"mount -t tmpfs -o size=2m tmpfs /mnt/a && echo mounted; grep ' /mnt/a ' /proc/self/mountinfo; "+
			"touch /mnt/a/f && ls -lnd /mnt/a /mnt/a/f; df -k /mnt/a | tail -1; echo READY; read x")
	bAnn := map[string]string{policy.ProfileAnnotation: "scratch", policy.NamespaceAnnotation: "default"}
	if _, err := fgacspec.FromAnnotations(&specs.Spec{Annotations: bAnn}, e.a.Policy(), e.sock); err == nil ||
		!strings.Contains(err.Error(), `namespace "default" may not use profile "scratch"`) {
		t.Errorf("runtime side accepted namespace default: %v", err)
	}
	b := e.bundle(base, bAnn, func(s *specs.Spec) {
		if err := fgacspec.Apply(s, "", []string{"mount"}, e.sock); err != nil {
			t.Fatal(err)
		}
	}, "mount -t tmpfs tmpfs /mnt/a; echo rc=$?; fgacprobe mount /mnt/b; grep -c tmpfs /proc/self/mountinfo")

	ca, ra := e.start("fgac-a", a)
	var outA strings.Builder
	sc := bufio.NewScanner(ra)
	for sc.Scan() && sc.Text() != "READY" {
		outA.WriteString(sc.Text() + "\n")
	}
	ra.Close()
	wantLines(t, "A", outA.String(), "mounted\n", " /mnt/a rw,nosuid,nodev", " - tmpfs tmpfs rw,", "size=2048k",
		"drwxrwxrwt    2 0        0 ", "-rw-r--r--    1 0        0 ")
	host, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(host), filepath.Join(a, "rootfs/mnt/a")) {
		t.Errorf("A's tmpfs is visible on the host:\n%s", host)
	}
	outB := e.run("fgac-b", b)
	wantLines(t, "B", outB, "rc=1\n", "mount /mnt/b 1\n")
	if strings.Contains(outB, "/mnt") && !strings.Contains(outB, "mount /mnt/b 1\n") {
		t.Errorf("B: %s", outB)
	}
	ca.Kill(unix.SIGKILL, false)
	ca.Init().Wait()
	if log := e.logText(); !strings.Contains(log, "mounted tmpfs on /mnt/a (profile scratch)") ||
		!strings.Contains(log, `namespace "default" may not use profile "scratch"`) {
		t.Errorf("agent log lacks A's mount or B's refusal:\n%s", log)
	}
}

// TestMknodRuntimeDefault merges the profile into a Docker-like
// allow-list (default EPERM, mknod allowed): the allowed char devices are
// made (owned by the caller, with its umask, and usable), a block device
// and a char device not on the list are refused, a FIFO never reaches the
// agent, and umount2 of a mount the agent did not make is refused.
func TestMknodRuntimeDefault(t *testing.T) {
	e := newEnv(t)
	def, err := os.ReadFile("../../runtime/seccomp/testdata/default.json")
	if err != nil {
		t.Fatal(err)
	}
	b := e.bundle(310000, map[string]string{policy.ProfileAnnotation: "scratch"}, func(s *specs.Spec) {
		s.Linux.Seccomp = new(specs.LinuxSeccomp)
		if err := jsonUnmarshal(def, s.Linux.Seccomp); err != nil {
			t.Fatal(err)
		}
		e.withProfile(s)
	}, "mknod /tmp/null2 c 1 3 && echo hi > /tmp/null2 && echo null-ok; ls -ln /tmp/null2; "+
		"mknod -m 600 /tmp/zero2 c 1 5 && head -c 3 /tmp/zero2 | wc -c; "+
		"mknod /tmp/loop b 7 0; echo blk-rc=$?; mknod /tmp/mem c 1 1; echo mem-rc=$?; "+
		"mkfifo /tmp/fifo && echo fifo-ok; umount /proc; echo umount-rc=$?; echo LS $(ls /tmp)")
	out := e.run("fgac-mknod", b)
	wantLines(t, "container", strings.Join(strings.Fields(out), " "), "null-ok", "crw-r--r-- 1 0 0 1, 3 ", " 3 ",
		"blk-rc=1", "mem-rc=1", "fifo-ok", "umount-rc=1", "LS fifo null2 zero2")
	if log := e.logText(); strings.Contains(log, "fifo") {
		t.Errorf("the FIFO reached the agent:\n%s", log)
	}
}

// TestSymlinkTarget: a target that is a symlink out of the container (to
// a host directory, absolute or by ..), or inside it to a directory the
// profile does not allow, is refused, and nothing is mounted anywhere.
func TestSymlinkTarget(t *testing.T) {
	e := newEnv(t)
	hostDir := t.TempDir()
	b := e.bundle(320000, map[string]string{policy.ProfileAnnotation: "scratch"}, e.withProfile,
		"for p in /mnt/abs /mnt/rel /mnt/in /mnt/b/../abs; do fgacprobe mount $p; done; grep -c tmpfs /proc/self/mountinfo")
	rootfs := filepath.Join(b, "rootfs")
	for link, to := range map[string]string{"mnt/abs": hostDir, "mnt/rel": "../../../../../../../.." + hostDir, "mnt/in": "/opt/a"} {
		if err := os.Symlink(to, filepath.Join(rootfs, link)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadFile("/proc/self/mountinfo")
	out := e.run("fgac-symlink", b)
	wantLines(t, "container", out, "mount /mnt/abs 1\n", "mount /mnt/rel 1\n", "mount /mnt/in 1\n", "mount /mnt/b/../abs 1\n")
	after, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(after), hostDir) || strings.Count(string(after), "tmpfs") != strings.Count(string(before), "tmpfs") {
		t.Errorf("a tmpfs appeared on the host")
	}
	if !strings.Contains(e.logText(), "symlinks are not followed") {
		t.Errorf("agent log:\n%s", e.logText())
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
