package task

import (
	"bytes"
	"fmt"
	"strconv"
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

	// Reused by ReapOrphans, which holds the gate alone (see children).
	dents, file []byte
	kids        []int
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
	kids, err := r.children()
	if err != nil {
		return 0
	}
	n := 0
	for _, pid := range kids {
		r.mu.Lock()
		mine := r.tracked[pid]
		r.mu.Unlock()
		if mine || !r.zombie(pid) {
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
// thread's /proc children file (a child belongs to the thread that forked
// it). It runs on every SIGCHLD, several per exec, so it reads through the
// reaper's buffers: filepath.Glob and os.ReadFile allocated ~40 KB a call,
// a fifth of what an exec costs the shim's heap. The caller holds the gate.
func (r *reaper) children() ([]int, error) {
	dir, err := unix.Open("/proc/self/task", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("list children: %w", err)
	}
	defer unix.Close(dir)
	if r.dents == nil {
		r.dents, r.file = make([]byte, 4096), make([]byte, 512)
	}
	r.kids = r.kids[:0]
	for {
		n, err := unix.Getdents(dir, r.dents)
		if err != nil {
			return nil, fmt.Errorf("list children: threads: %w", err)
		}
		if n <= 0 {
			return r.kids, nil
		}
		for b := r.dents[:n]; len(b) >= 19; {
			// struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name
			reclen := int(b[16]) | int(b[17])<<8
			if reclen < 19 || reclen > len(b) {
				break
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			if len(name) == 0 || name[0] < '0' || name[0] > '9' {
				continue // . and ..
			}
			// the thread may have exited meanwhile: its children went to
			// another thread, whose file is read too
			if data, ok := r.read(dir, string(name)+"/children"); ok {
				r.kids = appendPids(r.kids, data)
			}
		}
	}
}

// zombie tells whether pid has exited and waits to be reaped.
func (r *reaper) zombie(pid int) bool {
	b, ok := r.read(unix.AT_FDCWD, "/proc/"+strconv.Itoa(pid)+"/stat")
	if !ok {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// read reads a small /proc file (relative to dir) into the reaper's buffer;
// the result is valid until the next read.
func (r *reaper) read(dir int, path string) ([]byte, bool) {
	if r.file == nil {
		r.file = make([]byte, 512)
	}
	fd, err := unix.Openat(dir, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(r.file) {
			r.file = append(r.file, make([]byte, len(r.file))...)
		}
		m, err := unix.Read(fd, r.file[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if m == 0 {
			return r.file[:n], true
		}
		n += m
	}
}

// appendPids appends the space-separated decimal pids in b.
func appendPids(out []int, b []byte) []int {
	pid, digits := 0, false
	for _, c := range b {
		if c >= '0' && c <= '9' {
			pid, digits = pid*10+int(c-'0'), true
			continue
		}
		if digits {
			out = append(out, pid)
		}
		pid, digits = 0, false
	}
	if digits {
		out = append(out, pid)
	}
	return out
}
