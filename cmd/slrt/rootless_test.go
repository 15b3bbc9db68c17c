package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/internal/testutil"
)

// TestRootless runs the CLI as an unprivileged user (nobody, 65534) with
// the spec `slrt spec --rootless` writes: container root is that user,
// state goes to $XDG_RUNTIME_DIR/slrt without --root, and the log says why
// there is no cgroup (this host is not pure cgroup v2, or nothing is
// delegated).
func TestRootless(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs containers")
	}
	testutil.RequireRoot(t)
	const user = 65534
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A private copy of the binary the user can surely execute.
	bin := filepath.Join(dir, "slrt")
	copyExe(t, subjectBin(), bin)
	xdg := filepath.Join(dir, "xdg")
	if err := os.Mkdir(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(xdg, "slrt")
	testutil.Leaks(t, root)
	bundle := testutil.Bundle(t)
	if err := os.Remove(filepath.Join(bundle, "config.json")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{xdg, bundle} {
		testutil.ChownTree(t, d, user)
	}

	as := func(args ...string) (string, string, error) {
		c := exec.Command(bin, args...)
		c.Dir = bundle
		c.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "XDG_RUNTIME_DIR=" + xdg}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: user, Gid: user, Groups: []uint32{}}}
		var out, errb strings.Builder
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		return out.String(), errb.String(), err
	}
	if _, stderr, err := as("spec", "--rootless"); err != nil {
		t.Fatalf("spec --rootless: %v: %s", err, stderr)
	}
	editSpec(t, filepath.Join(bundle, "config.json"), func(s *specs.Spec) {
		s.Process.Terminal = false
		s.Process.Args = []string{"sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map"}
	})
	out, stderr, err := as("run", "rootless")
	t.Cleanup(func() { as("delete", "--force", "rootless") })
	if err != nil {
		t.Fatalf("run as uid %d: %v\nstdout: %s\nstderr: %s", user, err, out, stderr)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"uid=0(root) gid=0(root)", "0 65534 1 0 65534 1"} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "level=warning") || !strings.Contains(stderr, "rootless: container rootless runs without a cgroup of its own") {
		t.Errorf("stderr lacks the rootless cgroup warning:\n%s", stderr)
	}
	if fi, err := os.Stat(root); err != nil || fi.Sys().(*syscall.Stat_t).Uid != user {
		t.Errorf("state root %s: %v, want a directory owned by %d", root, err, user)
	}
}

func copyExe(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Skipf("no binary to test: %v", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func editSpec(t *testing.T, path string, edit func(*specs.Spec)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	edit(&s)
	if b, err = json.Marshal(&s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultRoot(t *testing.T) {
	for _, tt := range []struct {
		euid int
		xdg  string
		want string
	}{
		{0, "/run/user/0", "/run/slrt"},
		{1000, "/run/user/1000", "/run/user/1000/slrt"},
		{1000, "", "/run/slrt"},
	} {
		if got := defaultRoot(tt.euid, tt.xdg); got != tt.want {
			t.Errorf("defaultRoot(%d, %q) = %q, want %q", tt.euid, tt.xdg, got, tt.want)
		}
	}
}
