package rootfs

import (
	"os"
	"strings"
	"testing"

	"github.com/slrt/slrt/internal/testutil"
)

// checkNoLeaks records the host's mount table and, when the test ends,
// fails it if a mount appeared or vanished at a path the test touches
// (its temp dirs, /etc, /tmp, /sys/fs/cgroup) or any existing mount
// changed (propagation or flags). Mounts other tests add elsewhere at the
// same time are only logged: the machine is shared.
func checkNoLeaks(t *testing.T, paths ...string) {
	t.Helper()
	before := mountTable(t)
	t.Cleanup(func() {
		after := mountTable(t)
		watched := func(point string) bool {
			for _, p := range append(paths, "/etc", "/tmp", "/sys/fs/cgroup", "/") {
				if under(point, p) {
					return true
				}
			}
			return false
		}
		for id, line := range after {
			old, ok := before[id]
			switch {
			case ok && old != line:
				t.Errorf("host mount changed:\n  before: %s\n  after:  %s", old, line)
			case !ok && watched(point(line)):
				t.Errorf("host mount leaked: %s", line)
			case !ok:
				t.Logf("host mount appeared (not ours?): %s", line)
			}
		}
		for id, line := range before {
			if _, ok := after[id]; !ok && watched(point(line)) {
				t.Errorf("host mount vanished: %s", line)
			}
		}
	})
}

// mountTable maps mount id to its mountinfo line.
func mountTable(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		id, _, _ := strings.Cut(line, " ")
		m[id] = line
	}
	return m
}

func point(line string) string {
	e, err := testutil.ParseMountinfoLine(line)
	if err != nil {
		return ""
	}
	return e.Point
}
