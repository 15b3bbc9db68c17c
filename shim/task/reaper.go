package task

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper keeps reaping in one place per pid. The shim is the child
// subreaper, so processes orphaned inside a container that shares a pid
// namespace with the shim's children become its children. The engine reaps
// the processes it spawns itself (exec.Cmd.Wait in Process.Wait, and in its
// hooks), so the reaper must never wait for those: it reaps only zombie
// children that are not tracked, and engine calls that spawn or wait hold
// it off (gate), so a pid is tracked before the reaper can see it.
type reaper struct {
	gate    sync.RWMutex // engine calls share it; reaping takes it alone
	mu      sync.Mutex
	tracked map[int]bool
}

// engine runs an engine call that may spawn or wait for processes.
func (r *reaper) engine(f func() error) error {
	r.gate.RLock()
	defer r.gate.RUnlock()
	return f()
}

// spawn runs an engine call that starts a process and returns its pid,
// tracked before the reaper may run again.
func (r *reaper) spawn(f func() (int, error)) error {
	r.gate.RLock()
	defer r.gate.RUnlock()
	pid, err := f()
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.tracked[pid] = true
	r.mu.Unlock()
	return nil
}

// untrack forgets a pid the engine has reaped.
func (r *reaper) untrack(pid int) {
	r.mu.Lock()
	delete(r.tracked, pid)
	r.mu.Unlock()
}

// ReapOrphans reaps exited children the engine does not own. The daemon
// calls it on SIGCHLD.
func (s *Service) ReapOrphans() int {
	r := &s.reaper
	r.gate.Lock()
	defer r.gate.Unlock()
	kids, err := children()
	if err != nil {
		return 0
	}
	n := 0
	for _, pid := range kids {
		r.mu.Lock()
		mine := r.tracked[pid]
		r.mu.Unlock()
		if mine || !zombie(pid) {
			continue
		}
		var ws unix.WaitStatus
		if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err == nil && got == pid {
			n++
		}
	}
	return n
}

// children lists the pids whose parent is this process, from every
// thread's /proc children file (a child belongs to the thread that forked it).
func children() ([]int, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", os.Getpid()))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("list children: %v", err)
	}
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, w := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(w); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out, nil
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
