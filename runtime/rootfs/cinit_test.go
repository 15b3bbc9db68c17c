package rootfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// cInitRootfs are the C init's filesystem sources (cmd/slrt-init-c) and
// what they need to receive a plan.
var cInitRootfs = []string{"rootfs.c", "resolve.c", "mount.c", "mountinfo.c", "cgroup.c", "devices.c",
	"wire.c", "err.c"}

var cDriver struct {
	once sync.Once
	path string
	err  string
}

// buildCDriver compiles the C init's rootfs steps with their test driver
// (cmd/slrt-init-c/test/rootfs.c) as the init is built: musl, static.
func buildCDriver(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("musl-gcc")
	if err != nil {
		t.Skip("musl-gcc not found (Debian: musl-tools, see .ci/deps)")
	}
	cDriver.once.Do(func() {
		dir, err := os.MkdirTemp("", "slrt-rootfs-c")
		if err != nil {
			cDriver.err = err.Error()
			return
		}
		src := filepath.Join("..", "..", "cmd", "slrt-init-c")
		cDriver.path = filepath.Join(dir, "rootfs")
		args := []string{"-std=gnu11", "-static", "-Os", "-Wall", "-Wextra", "-Werror", "-o", cDriver.path,
			filepath.Join(src, "test", "rootfs.c")}
		for _, f := range cInitRootfs {
			args = append(args, filepath.Join(src, f))
		}
		if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
			cDriver.err = err.Error() + "\n" + string(out)
		}
	})
	if cDriver.err != "" {
		t.Fatalf("build the C rootfs driver: %s", cDriver.err)
	}
	return cDriver.path
}

// TestCRootfs builds the containers of TestContainerRootfs with the C
// init's rootfs_prepare, rootfs_pivot and rootfs_finish: the plan goes to
// the driver over a socket in the wire format, as to slrt-init.
func TestCRootfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	driver := buildCDriver(t)
	for _, tt := range rootfsCases {
		t.Run(tt.name, func(t *testing.T) {
			runRootfsCase(t, tt, func(t *testing.T, plan channel.RootfsPlan, script string, userNS bool) (*exec.Cmd, func()) {
				return cChild(t, driver, plan, script, userNS)
			})
		})
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
