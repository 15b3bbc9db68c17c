package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/containerd/cgroups/v3/cgroup1"
	"golang.org/x/sys/unix"
)

// Add places pid in every hierarchy of the container's cgroup: all v1
// controllers, and on hybrid hosts the v2 "unified" tree as well (as runc
// does), so /proc/PID/cgroup names the container everywhere.
func (m *Manager) Add(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("add pid %d to cgroup %s: invalid pid", pid, m.loc)
	}
	if m.v1 != nil {
		if err := m.v1.AddProc(uint64(pid)); err != nil {
			return fmt.Errorf("add pid %d to cgroup %s (v1 controllers): %w", pid, m.loc, err)
		}
	}
	if m.v2 != nil {
		if err := m.v2.AddProc(uint64(pid)); err != nil {
			return fmt.Errorf("add pid %d to cgroup %s: %w", pid, m.v2dir, err)
		}
	}
	return nil
}

// pidsControllers are the v1 hierarchies Pids reads, best first: any one
// holds every process of the container, and these are the likeliest present.
var pidsControllers = []cgroup1.Name{cgroup1.Pids, cgroup1.Freezer, cgroup1.Memory, cgroup1.Cpu, cgroup1.Devices, cgroup1.Cpuset, cgroup1.Blkio}

// Pids lists every process in the cgroup and its descendants.
func (m *Manager) Pids() ([]int, error) {
	var pids []int
	switch {
	case m.Unified():
		ps, err := m.v2.Procs(true)
		if err != nil {
			return nil, fmt.Errorf("list processes of cgroup %s: %w", m.v2dir, err)
		}
		for _, p := range ps {
			pids = append(pids, int(p))
		}
	default:
		name, ok := m.pidsController()
		if !ok {
			return nil, fmt.Errorf("list processes of cgroup %s: no v1 controller to read", m.loc)
		}
		ps, err := m.v1.Processes(name, true)
		if err != nil {
			return nil, fmt.Errorf("list processes of cgroup %s (%s): %w", m.loc, name, err)
		}
		for _, p := range ps {
			pids = append(pids, p.Pid)
		}
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

func (m *Manager) pidsController() (cgroup1.Name, bool) {
	for _, n := range pidsControllers {
		if _, ok := m.v1dirs[string(n)]; ok {
			return n, true
		}
	}
	for n := range m.v1dirs {
		return cgroup1.Name(n), true
	}
	return "", false
}

// Signal sends sig to every process in the cgroup. SIGKILL uses cgroup.kill
// where the kernel has it (atomic against forks); otherwise the cgroup is
// frozen while the processes are listed and killed, so none can fork a child
// that escapes the list, then thawed so the frozen processes can die.
func (m *Manager) Signal(sig unix.Signal) error {
	if sig == unix.SIGKILL && m.Unified() {
		err := writeFile(filepath.Join(m.v2dir, "cgroup.kill"), "1")
		if err == nil {
			return nil
		}
	}
	froze := false
	if sig == unix.SIGKILL {
		froze = m.Freeze() == nil
	}
	pids, err := m.Pids()
	if err == nil {
		for _, pid := range pids {
			if kerr := unix.Kill(pid, sig); kerr != nil && !errors.Is(kerr, unix.ESRCH) {
				err = fmt.Errorf("send %v to pid %d of cgroup %s: %w", sig, pid, m.loc, kerr)
			}
		}
	}
	if froze {
		if terr := m.Thaw(); terr != nil && err == nil {
			err = terr
		}
	}
	return err
}
