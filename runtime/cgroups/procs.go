package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// Add places pid in every hierarchy of the container's cgroup: all v1
// controllers, and on hybrid hosts the v2 "unified" tree as well (as runc
// does), so /proc/PID/cgroup names the container everywhere.
func (m *Manager) Add(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("add pid %d to cgroup %s: invalid pid", pid, m.loc)
	}
	for _, c := range v1Controllers {
		d, ok := m.v1dirs[c]
		if !ok {
			continue
		}
		if err := writeProcs(d, pid); err != nil {
			return fmt.Errorf("add pid %d to cgroup %s (v1 %s controller): %w", pid, m.loc, c, err)
		}
	}
	if m.v2dir != "" {
		if err := writeProcs(m.v2dir, pid); err != nil {
			return fmt.Errorf("add pid %d to cgroup %s: %w", pid, m.v2dir, err)
		}
	}
	return nil
}

// writeProcs moves pid into dir. The write can fail with EINTR when a signal
// reaches the migrating task, or EBUSY while a v1 freezer transition is in
// flight; both are worth a few more tries.
func writeProcs(dir string, pid int) error {
	var err error
	for i := 0; i < 5; i++ {
		err = writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid))
		if !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EBUSY) {
			return err
		}
	}
	return err
}

// pidsControllers are the v1 hierarchies Pids reads, best first: any one
// holds every process of the container, and these are the likeliest present.
var pidsControllers = []string{"pids", "freezer", "memory", "cpu", "devices", "cpuset", "blkio"}

// Pids lists every process in the cgroup and its descendants.
func (m *Manager) Pids() ([]int, error) {
	dir := m.v2dir
	if !m.Unified() {
		c, ok := m.pidsController()
		if !ok {
			return nil, fmt.Errorf("list processes of cgroup %s: no v1 controller to read", m.loc)
		}
		dir = m.v1dirs[c]
	}
	pids, err := readProcsTree(dir)
	if err != nil {
		return nil, fmt.Errorf("list processes of cgroup %s: %w", dir, err)
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

func (m *Manager) pidsController() (string, bool) {
	for _, n := range pidsControllers {
		if _, ok := m.v1dirs[n]; ok {
			return n, true
		}
	}
	for n := range m.v1dirs {
		return n, true
	}
	return "", false
}

// readProcsTree reads cgroup.procs of dir and of every cgroup below it. A
// child cgroup removed during the walk is skipped.
func readProcsTree(dir string) ([]int, error) {
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		f, err := os.Open(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			pid, err := strconv.Atoi(sc.Text())
			if err != nil {
				return fmt.Errorf("parse %s: %w", f.Name(), err)
			}
			pids = append(pids, pid)
		}
		return sc.Err()
	})
	return pids, err
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
