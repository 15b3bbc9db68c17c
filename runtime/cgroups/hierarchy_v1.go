package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// v1Controllers are the v1 hierarchies a container gets a directory in,
// where the host mounts them at /sys/fs/cgroup/<name> ("systemd" is the
// named, controller-less hierarchy). A joint mount such as "cpu,cpuacct" is
// reached through its per-controller symlinks, so both names can map to one
// directory; Delete copes with that.
var v1Controllers = []string{
	"systemd", "freezer", "pids", "net_cls", "net_prio", "perf_event", "cpuset",
	"cpu", "cpuacct", "memory", "blkio", "rdma", "devices", "hugetlb",
}

// v1Mounted lists the controllers of v1Controllers mounted on this host.
// devices is left out inside a user namespace: its rules cannot be changed
// there, and its directory could not be created.
func v1Mounted() []string {
	userns := inUserNS()
	var out []string
	for _, c := range v1Controllers {
		if c == "devices" && userns {
			continue
		}
		if _, err := os.Lstat(filepath.Join(v1Root, c)); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// inUserNS reports whether we run in a user namespace other than the
// initial one, whose uid_map is the identity over the full range.
func inUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

// v1DirsFor maps each mounted controller to the container's directory.
func (m *Manager) v1DirsFor(ctrls []string) map[string]string {
	dirs := make(map[string]string, len(ctrls))
	for _, c := range ctrls {
		dirs[c] = filepath.Join(v1Root, c, m.loc.forCtrl(c))
	}
	return dirs
}

// createV1 makes the container's directory in every v1 hierarchy. A new
// cpuset cgroup starts with empty cpus and mems, and adding a process to it
// then fails with ENOSPC, so each new cpuset directory (and each new parent)
// gets its parent's values first. Resources are applied afterwards by
// apply, which names what failed.
func (m *Manager) createV1(created *[]chain) error {
	ctrls := v1Mounted()
	if len(ctrls) == 0 {
		return fmt.Errorf("create cgroup %s: no v1 controller is mounted under %s", m.loc, v1Root)
	}
	m.v1dirs = m.v1DirsFor(ctrls)
	for _, c := range ctrls {
		*created = appendTop(*created, m.v1dirs[c])
	}
	for _, c := range ctrls {
		dir := m.v1dirs[c]
		var err error
		if c == "cpuset" {
			err = mkdirCpuset(filepath.Join(v1Root, c), dir)
		} else {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			return fmt.Errorf("create cgroup %s on the v1 %s controller: %w", m.loc, c, err)
		}
	}
	return nil
}

// loadV1 finds the container's existing v1 directories. A controller
// without one (say devices, made in a user namespace) is left out; a cgroup
// with none at all is gone.
func (m *Manager) loadV1() error {
	ctrls := v1Mounted()
	m.v1dirs = map[string]string{}
	for c, d := range m.v1DirsFor(ctrls) {
		if _, err := os.Lstat(d); err == nil {
			m.v1dirs[c] = d
		}
	}
	if len(m.v1dirs) == 0 {
		return os.ErrNotExist
	}
	return nil
}

// mkdirCpuset creates dir below the cpuset root one level at a time,
// copying cpuset.cpus and cpuset.mems from the parent into each directory
// it creates or finds empty.
func mkdirCpuset(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("cpuset cgroup %s is not below %s", dir, root)
	}
	cur := root
	for _, comp := range strings.Split(rel, "/") {
		parent := cur
		cur = filepath.Join(cur, comp)
		if err := os.Mkdir(cur, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			mine, err := os.ReadFile(filepath.Join(cur, f))
			if err != nil {
				return err
			}
			if len(bytes.TrimSpace(mine)) > 0 {
				continue
			}
			theirs, err := os.ReadFile(filepath.Join(parent, f))
			if err != nil {
				return err
			}
			if err := writeFile(filepath.Join(cur, f), string(bytes.TrimSpace(theirs))); err != nil {
				return fmt.Errorf("copy %s from %s: %w", f, parent, err)
			}
		}
	}
	return nil
}

// v1Dir is the container's directory for controller ctrl, or an error naming
// the resource that needs it.
func (m *Manager) v1Dir(ctrl, resource string) (string, error) {
	d, ok := m.v1dirs[ctrl]
	if !ok {
		return "", fmt.Errorf("set %s of cgroup %s: the %s controller is not mounted on this host", resource, m.loc, ctrl)
	}
	if _, err := os.Lstat(d); err != nil {
		return "", fmt.Errorf("set %s of cgroup %s: %w", resource, m.loc, err)
	}
	return d, nil
}
