package rootfs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slrt/slrt/internal/cdriver"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// cInitRootfs are the C init's filesystem sources (cmd/slrt-init) and
// what they need to receive a plan.
var cInitRootfs = []string{"rootfs.c", "resolve.c", "mount.c", "mountinfo.c", "cgroup.c", "devices.c",
	"wire.c", "err.c"}

var cBuilt struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

// buildC compiles the test driver cmd/slrt-init/test/NAME.c with srcs
// of cmd/slrt-init (cdriver.Build), once per run.
func buildC(t *testing.T, name string, srcs ...string) string {
	t.Helper()
	cBuilt.Lock()
	defer cBuilt.Unlock()
	if bin, ok := cBuilt.bins[name]; ok {
		return bin
	}
	if cBuilt.dir == "" {
		// Shared by the tests of this run, so not a t.TempDir.
		var err error
		if cBuilt.dir, err = os.MkdirTemp("", "slrt-rootfs-c"); err != nil {
			t.Fatal(err)
		}
		cBuilt.bins = map[string]string{}
	}
	bin := cdriver.Build(t, cBuilt.dir, name, srcs...)
	cBuilt.bins[name] = bin
	return bin
}

// removeCBuilds removes what buildC built; TestMain calls it at the end.
func removeCBuilds() {
	if cBuilt.dir != "" {
		os.RemoveAll(cBuilt.dir)
	}
}

// TestCRootfs builds rootfsCases' containers with the C init's
// rootfs_prepare, rootfs_pivot and rootfs_finish: the plan goes to the
// driver over a socket in the wire format, as to slrt-init.
func TestCRootfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	driver := buildC(t, "rootfs", cInitRootfs...)
	for _, tt := range rootfsCases {
		t.Run(tt.name, func(t *testing.T) { runRootfsCase(t, tt, driver) })
	}
}

// cChild runs the driver with the child's end of a sync socket as fd 3 and
// sends the plan once it runs.
func cChild(t *testing.T, driver string, plan channel.RootfsPlan, script string, userNS bool) (*exec.Cmd, func()) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync-child")
	t.Cleanup(func() { ours.Close() })
	cmd := exec.Command(driver, script)
	cmd.ExtraFiles = []*os.File{theirs}
	return cmd, func() {
		theirs.Close()
		p := &channel.Plan{Rootfs: plan, NewUserNS: userNS}
		if err := channel.Send(int(ours.Fd()), &channel.Message{Kind: channel.KindPlan, Plan: p}); err != nil {
			t.Errorf("send plan: %v", err)
		}
	}
}

// TestCMountinfo checks the C init's mountinfo parser: paths unescaped,
// optional fields skipped, malformed lines refused with the line quoted.
// The driver prints root, mount point, type and superblock options per
// entry (\xNN for bytes outside printable ASCII), or the error.
func TestCMountinfo(t *testing.T) {
	bin := buildC(t, "mountinfo", "mountinfo.c", "resolve.c", "err.c")
	const root = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
	const rootOut = "/\t/\text4\trw,discard\n"
	tests := []struct{ name, table, want string }{
		{"host", root + "36 22 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 master:2 - cgroup cgroup rw,cpu,cpuacct\n",
			rootOut + "/\t/sys/fs/cgroup/cpu,cpuacct\tcgroup\trw,cpu,cpuacct\n"},
		{"no optional fields", "36 35 98:0 /mnt1 /mnt2 rw,noatime - ext3 /dev/root rw,errors=continue\n",
			"/mnt1\t/mnt2\text3\trw,errors=continue\n"},
		{"escaped paths", root + `40 22 0:50 /a\040b\134c /mnt/x\011y\012z rw - tmpfs a\040b rw` + "\n",
			rootOut + `/a b\x5cc` + "\t" + `/mnt/x\x09y\x0az` + "\ttmpfs\trw\n"},
		{"not an escape", root + `41 22 0:51 / /mnt/\999\04 rw - tmpfs tmpfs rw` + "\n",
			rootOut + "/\t" + `/mnt/\x5c999\x5c04` + "\ttmpfs\trw\n"},
		{"no superblock options", root + "42 22 0:52 / /mnt/y rw - tmpfs tmpfs\n",
			rootOut + "/\t/mnt/y\ttmpfs\t\n"},
		{"no separator", root + "43 22 0:53 / /mnt/z rw tmpfs tmpfs rw\n",
			`error: parse FILE: bad mountinfo line "43 22 0:53 / /mnt/z rw tmpfs tmpfs rw"` + "\n"},
		{"short", "44 22 0:54 / /mnt/q - tmpfs tmpfs rw\n",
			`error: parse FILE: bad mountinfo line "44 22 0:54 / /mnt/q - tmpfs tmpfs rw"` + "\n"},
		{"no source", root + "45 22 0:55 / /mnt/r rw - tmpfs\n",
			`error: parse FILE: bad mountinfo line "45 22 0:55 / /mnt/r rw - tmpfs"` + "\n"},
		{"bad id", `x1 22 0:56 / /a\040"b rw - tmpfs tmpfs rw` + "\n",
			`error: parse FILE: bad mount id in "x1 22 0:56 / /a\\040\"b rw - tmpfs tmpfs rw"` + "\n"},
		{"bad parent", "46 p 0:57 / /mnt/s rw - tmpfs tmpfs rw\n",
			`error: parse FILE: bad parent id in "46 p 0:57 / /mnt/s rw - tmpfs tmpfs rw"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "mountinfo")
			if err := os.WriteFile(file, []byte(tt.table), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, file).Output()
			if err != nil {
				t.Fatalf("C parser: %v", err)
			}
			if want := strings.ReplaceAll(tt.want, "FILE", file); string(out) != want {
				t.Errorf("C parser printed\n%s\nwant\n%s", out, want)
			}
		})
	}
}

// TestCStatfsFlags checks which flags of a mount the C init repeats when
// it remounts a bind in a user namespace, where dropping a locked one
// fails: ro, nosuid, nodev, noexec always, the atime mode only when the
// mount asks for none of its own (atime), strictatime spelled out since a
// remount without an atime flag means relatime.
func TestCStatfsFlags(t *testing.T) {
	bin := buildC(t, "flags", cInitRootfs...)
	tests := []struct {
		name  string
		st    uint64
		atime bool
		want  string
	}{
		{"locked only", unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_RELATIME, false,
			"0xf ro,nosuid,nodev,noexec"},
		{"relatime kept", unix.ST_RELATIME, true, "0x200000 relatime"},
		{"noatime kept", unix.ST_NOATIME | unix.ST_NODIRATIME, true, "0xc00 noatime,nodiratime"},
		{"strictatime asked for", 0, true, "0x1000000 strictatime"},
		{"nothing", 0, false, "0 "},
	}
	for _, tt := range tests {
		atime := "0"
		if tt.atime {
			atime = "1"
		}
		out, err := exec.Command(bin, fmt.Sprint(tt.st), atime).Output()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != tt.want {
			t.Errorf("%s: statfs_flags(%#x, %v) = %q, want %q", tt.name, tt.st, tt.atime, got, tt.want)
		}
	}
}

// TestCRootfsFakeProc: with no proc mount, an image's /proc/self/fd tree
// of symlinks must not redirect Finish's masks (here /sys/firmware's
// tmpfs) to a path of its choosing: the C init checks /proc/self/fd/N is
// the fd before mounting through it.
func TestCRootfsFakeProc(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	driver := buildC(t, "rootfs", cInitRootfs...)
	tt := rootfsCase{
		name: "fake /proc",
		setup: func(t *testing.T, rootfs string) {
			fd := filepath.Join(rootfs, "proc/self/fd")
			if err := os.MkdirAll(fd, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(rootfs, "decoy"), 0o755); err != nil {
				t.Fatal(err)
			}
			for n := 0; n < 64; n++ {
				symlink(t, "/decoy", filepath.Join(fd, fmt.Sprint(n)))
			}
		},
		modify: func(s *specs.Spec) {
			var kept []specs.Mount
			for _, m := range s.Mounts {
				if m.Destination != "/proc" {
					kept = append(kept, m)
				}
			}
			s.Mounts = kept
		},
		error: "does not lead to /sys/firmware",
	}
	runRootfsCase(t, tt, driver)
}
