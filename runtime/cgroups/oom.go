package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNoMemoryController is returned by the OOM functions when the memory
// controller does not manage the container's cgroup.
var ErrNoMemoryController = errors.New("memory controller not available for this cgroup")

// OOMKillCount is how many processes the kernel has OOM-killed in the cgroup
// (v1 memory.oom_control / v2 memory.events "oom_kill").
func (m *Manager) OOMKillCount() (uint64, error) {
	file, err := m.oomCountFile()
	if err != nil {
		return 0, err
	}
	n, err := readKV(file, "oom_kill")
	if err != nil {
		return 0, fmt.Errorf("read OOM kill count of cgroup %s: %w", m.loc, err)
	}
	return n, nil
}

func (m *Manager) oomCountFile() (string, error) {
	if m.Unified() {
		f := filepath.Join(m.v2dir, "memory.events")
		if !fileExists(f) {
			return "", fmt.Errorf("cgroup %s: %w", m.v2dir, ErrNoMemoryController)
		}
		return f, nil
	}
	dir, ok := m.v1dirs["memory"]
	if !ok {
		return "", fmt.Errorf("cgroup %s: %w", m.loc, ErrNoMemoryController)
	}
	return filepath.Join(dir, "memory.oom_control"), nil
}

// OOMEvents delivers one value per OOM kill in the cgroup until the cgroup
// is removed (the channel is then closed) or stop is called. The kernel
// wakes us on any OOM condition; the oom_kill counter turns that into kills.
//
// v1 registers an eventfd on memory.oom_control via cgroup.event_control;
// v2 watches memory.events with inotify. Both fds are non-blocking and
// wrapped in *os.File, so closing them wakes the reading goroutine.
func (m *Manager) OOMEvents() (<-chan struct{}, func(), error) {
	countFile, err := m.oomCountFile()
	if err != nil {
		return nil, nil, err
	}
	last, err := readKV(countFile, "oom_kill")
	if err != nil {
		return nil, nil, fmt.Errorf("watch OOM kills of cgroup %s: %w", m.loc, err)
	}
	var f *os.File
	if m.Unified() {
		f, err = inotifyFile(countFile)
	} else {
		f, err = oomEventFile(filepath.Dir(countFile))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("watch OOM kills of cgroup %s: %w", m.loc, err)
	}

	ch := make(chan struct{}, 16)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return // closed by stop, or a read error: stop watching
			}
			n, err := waitForKill(countFile, last, done)
			if err != nil {
				return // cgroup removed (the v1 eventfd also fires on rmdir)
			}
			for ; last < n; last++ {
				select {
				case ch <- struct{}{}:
				case <-done:
					return
				}
			}
			if !fileExists(countFile) {
				return
			}
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			close(done)
			f.Close()
			<-exited
		})
	}
	return ch, stop, nil
}

// killSettle bounds how long a wake-up waits for the kill it announces: v1
// notifies when the OOM condition starts, before the victim is chosen and
// oom_kill counted; a wake-up with no kill after that (an OOM the kernel
// resolved by reclaim) yields no event.
const killSettle = 500 * time.Millisecond

// waitForKill reads the oom_kill counter until it passes last or killSettle
// has passed.
func waitForKill(countFile string, last uint64, done <-chan struct{}) (uint64, error) {
	deadline := time.Now().Add(killSettle)
	for {
		n, err := readKV(countFile, "oom_kill")
		if err != nil || n > last || time.Now().After(deadline) {
			return n, err
		}
		select {
		case <-done:
			return n, nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// oomEventFile registers a v1 OOM notification for the memory cgroup dir
// (Documentation/admin-guide/cgroup-v1/memory.rst, "OOM Control").
func oomEventFile(dir string) (*os.File, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ctl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		unix.Close(efd)
		return nil, err
	}
	defer ctl.Close()
	reg := strconv.Itoa(efd) + " " + strconv.Itoa(int(ctl.Fd()))
	if err := writeFile(filepath.Join(dir, "cgroup.event_control"), reg); err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("register OOM eventfd in %s: %w", dir, err)
	}
	return os.NewFile(uintptr(efd), "oom-eventfd"), nil
}

// inotifyFile watches file for modification; removal of the cgroup removes
// the watch, which inotify reports as IN_IGNORED (a read that succeeds).
func inotifyFile(file string) (*os.File, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, file, unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", file, err)
	}
	return os.NewFile(uintptr(fd), "oom-inotify"), nil
}
