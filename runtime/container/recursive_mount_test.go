package container_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestRecursiveMountOptions: "rro" makes an rbind read-only all the way
// down (mount_setattr AT_RECURSIVE), where "ro" reaches only the top mount
// and leaves a submount writable: what Kubernetes' recursiveReadOnly:
// Enabled asks of the runtime through containerd. "rnoexec" likewise
// reaches the submount.
func TestRecursiveMountOptions(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	sub := filepath.Join(src, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(sub, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(sub, "x"), []byte("#!/bin/sh\necho ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := bundleWith(t, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/rro", Type: "bind", Source: src, Options: []string{"rbind", "rro"}},
			specs.Mount{Destination: "/ro", Type: "bind", Source: src, Options: []string{"rbind", "ro"}},
			specs.Mount{Destination: "/rnoexec", Type: "bind", Source: src, Options: []string{"rbind", "rnoexec"}},
		)
	}, "sh", "-c", `for f in /rro/a /rro/sub/a /ro/a /ro/sub/a; do touch $f 2>/dev/null && echo $f:rw || echo $f:ro; done
/ro/sub/x >/dev/null 2>&1 && echo exec || echo noexec
/rnoexec/sub/x >/dev/null 2>&1 && echo exec || echo noexec`)
	res := e.run("rro", b, nil)
	if res.status.Code != 0 {
		t.Fatalf("exit = %+v: %s", res.status, res.out)
	}
	want := "/rro/a:ro /rro/sub/a:ro /ro/a:ro /ro/sub/a:rw exec noexec"
	if got := strings.Join(strings.Fields(res.out), " "); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
