package container_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/internal/testutil"
)

// TestUserNamespaceBindPrivateSource: bind sources below a directory only
// the host's root may search (as containerd keeps a pod's /dev/shm and
// /etc/hosts) reach a container whose root is an unprivileged host uid:
// the runtime opens them before the init enters the user namespace.
func TestUserNamespaceBindPrivateSource(t *testing.T) {
	e := newEnv(t)
	const base = 100000
	private := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	shm, hosts := filepath.Join(private, "shm"), filepath.Join(private, "hosts")
	if err := os.Mkdir(shm, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shm, 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hosts, []byte("127.0.0.1 bound-from-private\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/dev/shm", Type: "bind", Source: shm, Options: []string{"rbind", "rprivate", "rw"}},
			specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: hosts, Options: []string{"rbind", "rprivate", "ro"}})
	}, "sh", "-c", "cat /etc/hosts; touch /dev/shm/x && echo wrote; echo >> /etc/hosts || echo hosts-read-only")
	testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
	res := e.run("userns-private-bind", b, nil)
	if res.status.Code != 0 {
		t.Fatalf("exit = %+v: %s", res.status, res.out)
	}
	for _, want := range []string{"bound-from-private", "wrote", "hosts-read-only"} {
		if !strings.Contains(res.out, want) {
			t.Errorf("output lacks %q (the bound hosts file, read-only; a write to the bound /dev/shm):\n%s", want, res.out)
		}
	}
	if _, err := os.Stat(filepath.Join(shm, "x")); err != nil {
		t.Errorf("the write did not reach the source: %v", err)
	}
}
