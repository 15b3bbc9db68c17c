package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Placing a new process in a container's cgroup without moving it.
//
// Writing a pid to cgroup.procs migrates a whole thread group: the kernel
// takes cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
// period unless the host mounted its cgroups with favordynmods. That wait
// was a measured 0.2-34 ms (median ~5 ms, 15 ms in a traced `slrt run`) per
// container on these loaded 2-CPU VMs, the largest single item of a create.
// Two placements skip it:
//   - a thread that moves itself ("0" to a v1 hierarchy's tasks file):
//     the kernel needs no thread-group lock for the current thread;
//   - clone3's CLONE_INTO_CGROUP on the v2 hierarchy (unified or hybrid).
// A child is born in its parent thread's v1 cgroups and, with
// CLONE_INTO_CGROUP, in the given v2 one, so a thread that enters the
// container's v1 cgroups, clones the init and goes back places it with no
// migration at all.

// EnterThread moves the calling thread, which must be locked to its
// goroutine (runtime.LockOSThread), into the container's v1 cgroups, for a
// process it clones to start there. leave moves it back to where it was; if
// leave fails, the caller must not unlock the thread, so that it exits with
// its goroutine instead of running other code in the container's cgroups.
// The caller must not enter a cgroup that may be frozen (a paused
// container): the thread would freeze with it.
//
// With nothing on v1 (a unified host) it does nothing.
func (m *Manager) EnterThread() (leave func() error, err error) {
	if len(m.v1dirs) == 0 {
		return func() error { return nil }, nil
	}
	own, err := threadCgroups()
	if err != nil {
		return nil, err
	}
	var back []string
	leave = func() error {
		var errs []error
		for _, d := range back {
			if err := writeFile(filepath.Join(d, "tasks"), "0"); err != nil {
				errs = append(errs, fmt.Errorf("move thread back to cgroup %s: %w", d, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, c := range v1Controllers {
		dir, ok := m.v1dirs[c]
		if !ok {
			continue
		}
		path, ok := own[c]
		if !ok {
			// Not in this hierarchy's list, so it cannot be left again.
			err = fmt.Errorf("enter cgroup %s: the v1 %s hierarchy is not in /proc/thread-self/cgroup", m.loc, c)
			break
		}
		if err = writeFile(filepath.Join(dir, "tasks"), "0"); err != nil {
			err = fmt.Errorf("enter cgroup %s (v1 %s controller): %w", m.loc, c, err)
			break
		}
		back = append(back, filepath.Join(v1Root, c, path))
	}
	if err != nil {
		if lerr := leave(); lerr != nil {
			return nil, errors.Join(err, lerr, errThreadStuck)
		}
		return nil, err
	}
	return leave, nil
}

// errThreadStuck marks an EnterThread failure after which the thread
// could not go back: the caller must let it exit (keep it locked).
var errThreadStuck = errors.New("the thread is left in the container's cgroups")

// ThreadStuck reports whether err from EnterThread means the thread could
// not be moved back.
func ThreadStuck(err error) bool { return errors.Is(err, errThreadStuck) }

// CloneFD opens the container's v2 directory for CLONE_INTO_CGROUP on
// unified and hybrid hosts (with EnterThread for the v1 hierarchies), or
// returns (nil, nil) on a v1-only host. The fd must be O_RDONLY: clone3
// does not take an O_PATH fd.
func (m *Manager) CloneFD() (*os.File, error) {
	if m.v2dir == "" {
		return nil, nil
	}
	f, err := os.OpenFile(m.v2dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("open cgroup dir %s for CLONE_INTO_CGROUP: %w", m.v2dir, err)
	}
	return f, nil
}

// threadCgroups maps each v1 hierarchy of /proc/thread-self/cgroup, by
// every controller name it carries ("systemd" for name=systemd), to the
// calling thread's path in it.
func threadCgroups() (map[string]string, error) {
	f, err := os.Open("/proc/thread-self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "hierarchy-ID:controller-list:path"; v2 is "0::path".
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[strings.TrimPrefix(c, "name=")] = parts[2]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/thread-self/cgroup: %w", err)
	}
	return out, nil
}
