package task

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/shim/internal/pb/types"
)

func TestIDMapOptions(t *testing.T) {
	m := func(c, h, s int) syscall.SysProcIDMap {
		return syscall.SysProcIDMap{ContainerID: c, HostID: h, Size: s}
	}
	for _, tc := range []struct {
		name       string
		opts       []string
		rest       []string
		uids, gids []syscall.SysProcIDMap
		err        bool
	}{
		{"none", []string{"rbind", "rw"}, []string{"rbind", "rw"}, nil, nil, false},
		{"one mapping each", []string{"index=off", "uidmap=0:65536:65536", "lowerdir=/a", "gidmap=0:131072:65536"},
			[]string{"index=off", "lowerdir=/a"}, []syscall.SysProcIDMap{m(0, 65536, 65536)}, []syscall.SysProcIDMap{m(0, 131072, 65536)}, false},
		{"several mappings", []string{"uidmap=0:1000:1,1:100000:65535", "gidmap=0:1000:1"},
			nil, []syscall.SysProcIDMap{m(0, 1000, 1), m(1, 100000, 65535)}, []syscall.SysProcIDMap{m(0, 1000, 1)}, false},
		{"uidmap alone", []string{"uidmap=0:1000:1"}, nil, nil, nil, true},
		{"gidmap alone", []string{"gidmap=0:1000:1"}, nil, nil, nil, true},
		{"given twice", []string{"uidmap=0:1:1", "uidmap=0:2:1", "gidmap=0:1:1"}, nil, nil, nil, true},
		{"two fields", []string{"uidmap=0:1000", "gidmap=0:1000:1"}, nil, nil, nil, true},
		{"not a number", []string{"uidmap=0:x:1", "gidmap=0:1000:1"}, nil, nil, nil, true},
		{"negative", []string{"uidmap=0:-1:1", "gidmap=0:1000:1"}, nil, nil, nil, true},
		{"size 0", []string{"uidmap=0:1000:0", "gidmap=0:1000:1"}, nil, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rest, uids, gids, err := idmapOptions(tc.opts)
			if tc.err {
				if err == nil || !errors.Is(err, errInvalid) {
					t.Fatalf("%q: error %v, want an invalid-argument error", tc.opts, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(rest, tc.rest) || !reflect.DeepEqual(uids, tc.uids) || !reflect.DeepEqual(gids, tc.gids) {
				t.Errorf("%q: %q %v %v %v, want %q %v %v", tc.opts, rest, uids, gids, err, tc.rest, tc.uids, tc.gids)
			}
		})
	}
}

// TestMountIDMapped mounts rootfs snapshots the way containerd 2.x gives
// them for a user-namespaced pod (a one-layer bind, a multi-layer overlay,
// with uidmap/gidmap) and checks the files' owners through the mount and
// that no temporary mount or directory is left.
func TestMountIDMapped(t *testing.T) {
	if testing.Short() || os.Getuid() != 0 {
		t.Skip("needs root (mounts)")
	}
	const host = 65536 * 7
	idopts := []string{"uidmap=0:458752:65536", "gidmap=0:458752:65536"}
	dir := t.TempDir()
	mk := func(parts ...string) string {
		p := filepath.Join(append([]string{dir}, parts...)...)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := func(p string, uid int) {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	lower1, lower2 := mk("l1"), mk("l2")
	file(filepath.Join(lower1, "root-file"), 0)
	file(filepath.Join(lower2, "user-file"), 1000)
	upper, work := mk("upper"), mk("work")
	// the snapshotter chowns the upper dir to the pod's root
	if err := os.Chown(upper, host, host); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		mount *types.Mount
		want  map[string]int // file -> owner seen on the host through the mount
	}{
		{"bind", &types.Mount{Type: "bind", Source: lower1, Options: append([]string{"rbind", "rw"}, idopts...)},
			map[string]int{"root-file": host}},
		{"overlay", &types.Mount{Type: "overlay", Source: "overlay", Options: append([]string{
			"index=off", "workdir=" + work, "upperdir=" + upper, "lowerdir=" + lower1 + ":" + lower2}, idopts...)},
			map[string]int{"root-file": host, "user-file": host + 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle := mk("bundle-" + tc.name)
			target, err := mountRootfs(bundle, []*types.Mount{tc.mount})
			if err != nil {
				if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
					t.Skipf("no idmapped mounts here: %v", err)
				}
				t.Fatalf("mountRootfs: %v", err)
			}
			defer unmountRootfs(target)
			for f, uid := range tc.want {
				var st unix.Stat_t
				if err := unix.Lstat(filepath.Join(target, f), &st); err != nil {
					t.Fatal(err)
				}
				if int(st.Uid) != uid || int(st.Gid) != uid {
					t.Errorf("%s: owner %d:%d through the mount, want %d:%d", f, st.Uid, st.Gid, uid, uid)
				}
			}
			// only rootfs is left in the bundle: the lowerdirs' temporary
			// mount points are gone
			ents, _ := os.ReadDir(bundle)
			if len(ents) != 1 || ents[0].Name() != "rootfs" {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("bundle holds %v, want only rootfs", names)
			}
			if err := unmountRootfs(target); err != nil {
				t.Fatal(err)
			}
			if mounts, _ := os.ReadFile("/proc/self/mountinfo"); len(mounts) > 0 && containsPath(string(mounts), dir) {
				t.Errorf("mounts under %s left:\n%s", dir, mounts)
			}
		})
	}

	// A rootfs mount whose remapping is half given fails and leaves
	// nothing mounted.
	bundle := mk("bundle-bad")
	_, err := mountRootfs(bundle, []*types.Mount{{Type: "bind", Source: lower1, Options: []string{"rbind", "uidmap=0:1:1"}}})
	if err == nil || !errors.Is(err, errInvalid) {
		t.Errorf("uidmap without gidmap: %v", err)
	}
}

func containsPath(mountinfo, dir string) bool {
	for _, f := range strings.Fields(mountinfo) {
		if strings.HasPrefix(f, dir) {
			return true
		}
	}
	return false
}
