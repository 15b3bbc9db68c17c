package container_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/container"
)

// idmapBundle is a user-namespaced container (root = host uid 200000) with
// the given extra mounts.
func idmapBundle(t *testing.T, mounts []specs.Mount, args ...string) string {
	t.Helper()
	const base = 200000
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: 65536}}
		s.Mounts = append(s.Mounts, mounts...)
	}, args...)
	testutil.ChownTree(t, filepath.Join(b, "rootfs"), base)
	return b
}

func ownedDir(t *testing.T, id int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "f")} {
		if err := os.Lchown(p, id, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func owner(t *testing.T, p string) (uint32, uint32) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

// TestIdmappedMounts: what Kubernetes hostUsers:false does through
// containerd 2.x. /data is a host dir owned by uid 100000 with a mapping
// 100000 -> 200000 (the container's root): it appears owned by root inside,
// and a file root creates there lands on disk as 100000. /vol is owned by
// host root and says only "idmap": the container's own mapping is used, so
// it too is root's inside, and new files are host root's. Without the
// mapping the same dir shows as nobody (the overflow uid).
func TestIdmappedMounts(t *testing.T) {
	e := newEnv(t)
	data, vol, plain := ownedDir(t, 100000), ownedDir(t, 0), ownedDir(t, 0)
	maps := []specs.LinuxIDMapping{{ContainerID: 100000, HostID: 200000, Size: 65536}}
	b := idmapBundle(t, []specs.Mount{
		{Destination: "/data", Type: "bind", Source: data, Options: []string{"rbind", "rw", "idmap"}, UIDMappings: maps, GIDMappings: maps},
		{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"bind", "ridmap"}},
		{Destination: "/plain", Type: "bind", Source: plain, Options: []string{"bind", "ro"}},
	}, "sh", "-c", "stat -c %u:%g /data /data/f /vol /vol/f /plain && touch /data/new /vol/new && grep -c idmapped /proc/self/mountinfo")
	res := e.run("idmap", b, nil)
	if res.status.Code != 0 {
		t.Fatalf("exit = %+v: %s", res.status, res.out)
	}
	got := strings.Fields(res.out)
	want := []string{"0:0", "0:0", "0:0", "0:0", "65534:65534", "2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("owners inside and idmapped mount count = %q, want %q", got, want)
	}
	if u, g := owner(t, filepath.Join(data, "new")); u != 100000 || g != 100000 {
		t.Errorf("file created in /data is %d:%d on the host, want 100000:100000", u, g)
	}
	if u, g := owner(t, filepath.Join(vol, "new")); u != 0 || g != 0 {
		t.Errorf("file created in /vol is %d:%d on the host, want 0:0", u, g)
	}
}

// TestIdmappedMountErrors: a filesystem that cannot be idmapped fails the
// create with a message naming it; the mistakes a spec can make fail
// before anything is made. Nothing may be left behind (leak check).
func TestIdmappedMountErrors(t *testing.T) {
	e := newEnv(t)
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	for _, tt := range []struct {
		name  string
		mount specs.Mount
		want  string
	}{
		{"sysfs", specs.Mount{Destination: "/mm", Type: "bind", Source: "/sys/kernel/mm", Options: []string{"bind", "idmap"}, UIDMappings: maps, GIDMappings: maps},
			"does not support idmapped mounts (/sys/kernel/mm is on sysfs)"},
		{"not a bind", specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}},
			`idmapped mounts must be bind mounts (type "tmpfs")`},
		{"uid only", specs.Mount{Destination: "/d", Type: "bind", Source: "/tmp", Options: []string{"bind"}, UIDMappings: maps},
			"uidMappings and gidMappings must be given together"},
		{"empty range", specs.Mount{Destination: "/d", Type: "bind", Source: "/tmp", Options: []string{"bind"}, UIDMappings: []specs.LinuxIDMapping{{Size: 0}}, GIDMappings: maps},
			"size 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := idmapBundle(t, []specs.Mount{tt.mount}, "true")
			_, err := container.Create(e.root, container.CreateOpts{ID: "idmap-bad", Bundle: b})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("create: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
