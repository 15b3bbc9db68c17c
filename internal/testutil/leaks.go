package testutil

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// leakGrace is how long a new resource may take to go away after the test
// (an init being reaped, a cgroup being removed by a goroutine) before it
// counts as leaked. Only a test with a leak waits this long.
const leakGrace = 2 * time.Second

// Leaks records what exists when it is called — mounts in the test's mount
// namespace, cgroup directories in every mounted cgroup hierarchy (v1, the
// hybrid /sys/fs/cgroup/unified, or pure v2), the test process's open fds and
// its child processes — and, when the test ends (t.Cleanup) or when the
// returned function is called, reports with t.Errorf each one that is new
// and still there after a short grace period, named ("leak: mount ...",
// "leak: cgroup ...", "leak: fd ...", "leak: child process ..."), plus every
// entry left in stateRoot ("" skips that check).
//
// Call it first in a test, after StateRoot: cleanups run last-in first-out,
// so everything the test registers later (container deletes, temp dirs) is
// undone before the check.
//
// The sets are process-wide, so two tests cannot check leaks at the same
// time: Leaks fails a test that does so beside another one (t.Parallel);
// a subtest inside a checked test is fine.
//
// Not leaks: the Go runtime's netpoller fds (eventpoll, eventfd) and the
// engine's sealed slrt-init memfd, which is made once per process by design.
func Leaks(t testing.TB, stateRoot string) (check func()) {
	t.Helper()
	return leaks(t, stateRoot, leakGrace)
}

func leaks(t testing.TB, stateRoot string, grace time.Duration) func() {
	t.Helper()
	name := t.Name()
	if other := activeChecks.add(name); other != "" {
		t.Errorf("testutil.Leaks: %s checks leaks while %s does (t.Parallel?): "+
			"the checked sets are process-wide, so leaks cannot be told apart", name, other)
	}
	before, err := takeSnapshot()
	if err != nil {
		activeChecks.remove(name)
		t.Fatalf("testutil.Leaks: %v", err)
	}
	var once sync.Once
	check := func() {
		once.Do(func() {
			t.Helper()
			defer activeChecks.remove(name)
			for _, l := range newLeaks(before, grace) {
				t.Errorf("leak: %s", l)
			}
			if stateRoot != "" {
				for _, l := range stateLeaks(stateRoot) {
					t.Errorf("leak: %s", l)
				}
			}
		})
	}
	t.Cleanup(check)
	return check
}

// activeChecks are the names of the tests whose leak check is running.
var activeChecks = &checkSet{names: map[string]int{}}

type checkSet struct {
	mu    sync.Mutex
	names map[string]int
}

// add records name and returns a running check that is neither name itself
// nor an ancestor or descendant of it: a test running beside it.
func (s *checkSet) add(name string) (other string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.names {
		if n != name && !strings.HasPrefix(name, n+"/") && !strings.HasPrefix(n, name+"/") {
			other = n
		}
	}
	s.names[name]++
	return other
}

func (s *checkSet) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names[name]--; s.names[name] <= 0 {
		delete(s.names, name)
	}
}

// A snapshot maps a stable key of each resource to the name a leak report
// gives it.
type snapshot struct {
	mounts, cgroups, fds, children map[string]string
}

func takeSnapshot() (snapshot, error) {
	var s snapshot
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return s, err
	}
	var cgroupRoots []string
	s.mounts, cgroupRoots = parseMounts(mountinfo)
	s.cgroups = cgroupDirs(cgroupRoots)
	if s.fds, err = openFDs(); err != nil {
		return s, err
	}
	if s.children, err = childProcesses(os.Getpid()); err != nil {
		return s, err
	}
	return s, nil
}

// newLeaks returns what is in a fresh snapshot and not in before, waiting up
// to grace for it to go away.
func newLeaks(before snapshot, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		after, err := takeSnapshot()
		if err != nil {
			return []string{fmt.Sprintf("cannot check: %v", err)}
		}
		var found []string
		for _, p := range [][2]map[string]string{
			{before.mounts, after.mounts},
			{before.cgroups, after.cgroups},
			{before.fds, after.fds},
			{before.children, after.children},
		} {
			found = append(found, added(p[0], p[1])...)
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return found
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func added(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if _, ok := before[k]; !ok {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// parseMounts keys each mount by its mount ID (unique while mounted) and
// returns the mountpoints of the cgroup hierarchies, one per hierarchy.
// Format: proc(5), /proc/[pid]/mountinfo.
func parseMounts(mountinfo []byte) (mounts map[string]string, cgroupRoots []string) {
	mounts = map[string]string{}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		e, err := ParseMountinfoLine(line)
		if err != nil {
			continue
		}
		mounts[fmt.Sprintf("%d %s", e.ID, e.Point)] = fmt.Sprintf("mount %s (%s from %s, id %d)", e.Point, e.FSType, e.Source, e.ID)
		if (e.FSType == "cgroup" || e.FSType == "cgroup2") && !seen[e.Dev+e.Root] {
			seen[e.Dev+e.Root] = true
			cgroupRoots = append(cgroupRoots, e.Point)
		}
	}
	return mounts, cgroupRoots
}

// cgroupDirs lists every cgroup (directory) under the hierarchies' roots.
// Cgroups that vanish during the walk are skipped: other processes create
// and remove cgroups all the time.
func cgroupDirs(roots []string) map[string]string {
	dirs := map[string]string{}
	for _, root := range roots {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if d != nil && d.IsDir() && path != root {
					return fs.SkipDir
				}
				return nil
			}
			if !d.IsDir() || path == root {
				return nil
			}
			if ignoredCgroup(strings.TrimPrefix(path, root+"/")) {
				return nil // not recorded, but walked: a slrt cgroup may be below
			}
			dirs[path] = "cgroup " + path
			return nil
		})
	}
	return dirs
}

// ignoredCgroup tells cgroups that are not the engine's. Other processes on
// the host make and remove cgroups all the time (systemd's services and
// sessions, a CI harness's per-command cgroups), so only paths with "slrt"
// in them count: the engine's default parent is /slrt, and tests that pass
// their own cgroupsPath must put "slrt" in it. The default parent itself
// is shared by every container and stays once made (as runc's does), so on
// a fresh host the first test to create a container must not be blamed
// for it.
func ignoredCgroup(rel string) bool {
	return !strings.Contains(rel, "slrt") || rel == "slrt" // runtime/cgroups.DefaultParent
}

// ignoredFD tells the fds that belong to the process, not to a test.
func ignoredFD(target string) bool {
	switch {
	case target == "anon_inode:[eventpoll]", target == "anon_inode:[eventfd]":
		return true // the Go runtime's netpoller, opened on first use
	case strings.HasPrefix(target, "/memfd:slrt-init"), strings.HasPrefix(target, "/memfd:slrt-nsenter"):
		return true // runtime/inithelper: one sealed memfd per process, by design
	}
	return false
}

func openFDs() (map[string]string, error) {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/fd: %w", err)
	}
	own := strconv.Itoa(int(dir.Fd()))
	fds := map[string]string{}
	for _, n := range names {
		if n == own {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + n)
		if err != nil || ignoredFD(target) {
			continue // closed meanwhile
		}
		// Keyed with the target: a number reused for another file is new.
		fds[n+" "+target] = fmt.Sprintf("fd %s -> %s", n, target)
	}
	return fds, nil
}

// childProcesses lists the processes whose parent is pid, zombies included
// (an unreaped child is a leak too), keyed by PID and start time so a reused
// PID is a new child.
func childProcesses(pid int) (map[string]string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	ppid := strconv.Itoa(pid)
	children := map[string]string{}
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited
		}
		// pid (comm) state ppid ... with starttime the 22nd field; comm may
		// hold spaces and parentheses, so split after the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		j := bytes.IndexByte(stat, '(')
		if i < 0 || j < 0 || j > i {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 20 || fields[1] != ppid {
			continue
		}
		comm, state, start := string(stat[j+1:i]), fields[0], fields[19]
		what := "child process"
		if state == "Z" {
			what = "unreaped child process"
		}
		children[e.Name()+" "+start] = fmt.Sprintf("%s %s (%s)", what, e.Name(), comm)
	}
	return children, nil
}

// stateLeaks names what is left in a state root; a missing root is empty.
func stateLeaks(root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return []string{fmt.Sprintf("state root %s: %v", root, err)}
	}
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("state root %s holds %s", root, e.Name()))
	}
	return out
}
