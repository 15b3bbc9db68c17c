package rootfs

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/slrt/slrt/runtime/channel"
)

// The integration tests re-exec this test binary in new namespaces; the
// child finds its job in these variables instead of running tests.
const (
	childEnv     = "SLRT_ROOTFS_TEST_CHILD" // path of the plan JSON
	childScript  = "SLRT_ROOTFS_TEST_SCRIPT"
	childUserNS  = "SLRT_ROOTFS_TEST_USERNS" // "1": the child owns a user namespace
	childEscapes = 3                         // exit code: a mount landed outside the rootfs
)

func TestMain(m *testing.M) {
	if plan := os.Getenv(childEnv); plan != "" {
		runChild(plan, os.Getenv(childScript), os.Getenv(childUserNS) == "1")
	}
	code := m.Run()
	removeCBuilds()
	os.Exit(code)
}

// runChild plays slrt-init: Prepare, Pivot, Finish, then exec the script
// with the rootfs's busybox. Before pivoting it checks that every mount
// Prepare made is inside the rootfs (after pivot_root the host's mounts are
// gone from view, so a mount that escaped could not be seen any more).
func runChild(planFile, script string, newUserNS bool) {
	fail := func(code int, format string, a ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
		os.Exit(code)
	}
	b, err := os.ReadFile(planFile)
	if err != nil {
		fail(2, "read plan: %v", err)
	}
	var p channel.RootfsPlan
	if err := json.Unmarshal(b, &p); err != nil {
		fail(2, "decode plan: %v", err)
	}
	before, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		fail(2, "%v", err)
	}
	if err := Prepare(&p, newUserNS); err != nil {
		fail(2, "prepare: %v", err)
	}
	after, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		fail(2, "%v", err)
	}
	old := map[int]bool{}
	for _, e := range before {
		old[e.ID] = true
	}
	for _, e := range after {
		if !old[e.ID] && !under(e.Point, p.Path) {
			fail(childEscapes, "ESCAPE: %s mounted on %s, outside the rootfs %s", e.FSType, e.Point, p.Path)
		}
	}
	if err := Pivot(&p); err != nil {
		fail(2, "pivot: %v", err)
	}
	if err := Finish(&p); err != nil {
		fail(2, "finish: %v", err)
	}
	err = syscall.Exec("/bin/busybox", []string{"sh", "-c", script}, []string{"PATH=/bin"})
	fail(2, "exec busybox: %v", err)
}
