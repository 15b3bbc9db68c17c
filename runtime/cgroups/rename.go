package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrNotRenamable says Rename cannot move this cgroup to that place; the
// caller makes a new cgroup and moves the processes instead.
var ErrNotRenamable = errors.New("cgroup cannot be renamed there")

// Rename turns m, with the processes in it, into the cgroup New would make
// for (cgroupsPath, systemd, id), and applies res: a fast-start shell's
// staging cgroup becoming its container's. Moving a process between
// cgroups takes the kernel's cgroup_threadgroup_rwsem for writing, which
// waits for an RCU grace period (measured here: 7-9 ms per create on a
// loaded 2-core VM), while cgroup v1 renames a directory within its parent
// without moving anything. So each v1 directory is renamed; on hybrid
// hosts the controller-less v2 twin, which cgroup v2 cannot rename, keeps
// its name: Path() records it (the "common;=unified" form), so Load, Pids,
// Delete and exec's CLONE_INTO_CGROUP find it, and /proc/PID/cgroup's "0::"
// line shows the staging name.
//
// It returns ErrNotRenamable, leaving m as it was, on unified v2 hosts
// (nothing to rename), for systemd cgroups on hybrid hosts, and when the
// new place has another parent directory (the kernel renames only within
// one).
func (m *Manager) Rename(cgroupsPath string, systemd bool, id string, res *specs.LinuxResources) (_ *Manager, retErr error) {
	// A systemd cgroup's Path() is its one directory, with no room for
	// a v2 twin of another name.
	if m.mode != modeLegacy && (m.mode != modeHybrid || systemd) {
		return nil, ErrNotRenamable
	}
	loc, err := locate("rename", cgroupsPath, systemd, id)
	if err != nil {
		return nil, err
	}
	n := &Manager{loc: loc, systemd: systemd, mode: m.mode}
	if err := n.validateMode(res); err != nil {
		return nil, err
	}
	n.v1dirs = n.v1DirsFor(sortedKeys(m.v1dirs))
	for c, from := range m.v1dirs {
		if filepath.Dir(from) != filepath.Dir(n.v1dirs[c]) {
			return nil, ErrNotRenamable
		}
	}

	// Rename once per hierarchy: co-mounted controllers (cpu,cpuacct)
	// reach the same directory by two names.
	var done [][2]string
	defer func() {
		if retErr != nil {
			for i := len(done) - 1; i >= 0; i-- {
				_ = os.Rename(done[i][1], done[i][0])
			}
		}
	}()
	seen := map[uint64]bool{}
	for _, c := range sortedKeys(m.v1dirs) {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(v1Root, c), &st); err != nil {
			return nil, fmt.Errorf("rename cgroup %s: %w", m.loc, err)
		}
		if seen[st.Dev] {
			continue
		}
		seen[st.Dev] = true
		from, to := m.v1dirs[c], n.v1dirs[c]
		if err := os.Rename(from, to); err != nil {
			return nil, fmt.Errorf("rename cgroup %s to %s (v1 %s controller): %w", from, to, c, err)
		}
		done = append(done, [2]string{from, to})
	}

	if res != nil {
		if err := n.apply(res, false); err != nil {
			return nil, err
		}
	}
	if m.v2dir != "" {
		n.loc.unified, n.v2dir = m.loc.unified, m.v2dir
	}
	*m = Manager{} // m is n now: a Delete through m must not touch n
	return n, nil
}

func sortedKeys(m map[string]string) []string {
	var keys []string
	for _, c := range v1Controllers {
		if _, ok := m[c]; ok {
			keys = append(keys, c)
		}
	}
	return keys
}
