package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criHostDir is a fresh directory for hostPath volumes under the
// instance's hostpaths folder: a shared mount made before the daemon
// started, so mounts made below it now (the submount of the recursive
// read-only case) reach the daemon's mount namespace too.
func criHostDir(t *testing.T) string {
	t.Helper()
	base := env["HOSTPATHS"]
	if base == "" {
		t.Skip("containerd.sh env has no HOSTPATHS")
	}
	d, err := os.MkdirTemp(base, "vol-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// TestCRIVolumes: hostPath volumes as kubelet sends them: read-write (a
// write reaches the host), read-only (a write fails, but a submount stays
// writable: ro is not recursive), recursive read-only (the submount is
// read-only too) and a single file.
func TestCRIVolumes(t *testing.T) {
	c := criSetup(t)
	dir := criHostDir(t)
	rw, ro, rro := filepath.Join(dir, "rw"), filepath.Join(dir, "ro"), filepath.Join(dir, "rro")
	for _, d := range []string{rw, ro, rro} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	// a writable submount in each read-only volume
	for _, d := range []string{ro, rro} {
		sub := filepath.Join(d, "sub")
		if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatalf("tmpfs on %s: %v", sub, err)
		}
		t.Cleanup(func() { unix.Unmount(sub, unix.MNT_DETACH) })
	}
	file := filepath.Join(dir, "config.txt")
	if err := os.WriteFile(file, []byte("from-the-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	p := c.runPod(t, criPodConfig(t, "volumes"))
	cfg := c.containerConfig(p, "main", "sleep", "1000")
	cfg.Mounts = []*runtimeapi.Mount{
		{ContainerPath: "/rw", HostPath: rw},
		{ContainerPath: "/ro", HostPath: ro, Readonly: true},
		{ContainerPath: "/rro", HostPath: rro, Readonly: true, RecursiveReadOnly: true},
		{ContainerPath: "/etc/app/config.txt", HostPath: file, Readonly: true},
	}
	id, err := c.tryCreate(t, p, cfg)
	if err != nil && strings.Contains(err.Error(), "recursive read-only") {
		t.Skipf("the daemon refuses recursive read-only mounts for handler %s: %v", criHandler, err)
	}
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	c.start(t, id)

	try := func(path string) string {
		_, errOut, code := c.execSync(t, id, "touch", path)
		if code == 0 {
			return "writable"
		}
		if strings.Contains(errOut, "Read-only file system") {
			return "read-only"
		}
		return "error: " + errOut
	}
	// containerd before 2.0 drops RecursiveReadOnly (the spec then has a
	// plain ro bind): what counts is what the spec asked of the runtime.
	rroSub := "writable"
	for _, m := range criSpec(t, id).Mounts {
		if m.Destination == "/rro" && slices.Contains(m.Options, "rro") {
			rroSub = "read-only"
		}
	}
	if rroSub == "writable" {
		t.Logf("containerd %s did not pass RecursiveReadOnly on (no rro option in the spec)", c.version)
	}
	for _, tc := range []struct{ path, want string }{
		{"/rw/new", "writable"},
		{"/ro/new", "read-only"},
		{"/ro/sub/new", "writable"},
		{"/rro/new", "read-only"},
		{"/rro/sub/new", rroSub},
		{"/etc/app/config.txt", "read-only"},
	} {
		if got := try(tc.path); got != tc.want {
			t.Errorf("touch %s: %s, want %s", tc.path, got, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(rw, "new")); err != nil {
		t.Errorf("a write to the rw volume did not reach the host: %v", err)
	}
	if out := c.sh(t, id, "cat /etc/app/config.txt"); out != "from-the-host\n" {
		t.Errorf("file volume: %q", out)
	}
}
