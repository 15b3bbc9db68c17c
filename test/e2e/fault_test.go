package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ppidComm is a process's parent pid and its own comm.
func ppidComm(pid int) (int, string) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, ""
	}
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return 0, ""
	}
	f := strings.Fields(s[j+1:])
	if len(f) < 2 {
		return 0, ""
	}
	pp, _ := strconv.Atoi(f[1])
	return pp, s[i+1 : j]
}

// shimOf walks up from a container's init to its shim.
func shimOf(t *testing.T, pid int) int {
	t.Helper()
	for p := pid; p > 1; {
		pp, comm := ppidComm(p)
		if strings.HasPrefix(comm, "containerd-shim") {
			return p
		}
		p = pp
	}
	t.Fatalf("no containerd-shim above pid %d", pid)
	return 0
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	j := strings.LastIndexByte(s, ')')
	return j < 0 || !strings.HasPrefix(strings.TrimSpace(s[j+1:]), "Z")
}

func waitGone(t *testing.T, what string, pid int) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	t.Errorf("%s (pid %d) still alive", what, pid)
}

// taskPids are the pids `ctr tasks ps` lists (init and execs).
func taskPids(t *testing.T, id string, want int) []int {
	t.Helper()
	var pids []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		pids = nil
		for _, l := range strings.Split(must(t, "tasks", "ps", id), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				if p, err := strconv.Atoi(f[0]); err == nil {
					pids = append(pids, p)
				}
			}
		}
		if len(pids) >= want {
			break
		}
	}
	if len(pids) < want {
		t.Fatalf("tasks ps %s: %v, want %d pids", id, pids, want)
	}
	return pids
}

// TestShimKilled: the shim dies (SIGKILL) under a running task; containerd
// notices, runs the shim's delete command (kills the container's
// processes, unmounts the rootfs, removes the engine state) and the task
// is gone; the container can be removed and nothing is left.
func TestShimKilled(t *testing.T) {
	setup(t)
	id := newID(t)
	runDetached(t, id, nil, "sleep", "1000")
	waitStatus(t, id, "RUNNING", true)
	must(t, "tasks", "exec", "-d", "--exec-id", "bg", id, "sleep", "1000")
	_, pid := status(t, id)
	pids := taskPids(t, id, 2)
	shim := shimOf(t, pid)
	t.Logf("init %d, shim %d", pid, shim)
	if err := syscall.Kill(shim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if st, _ = status(t, id); st == "" || st == "STOPPED" || st == "UNKNOWN" {
			break
		}
	}
	t.Logf("task status after the shim's death: %q", st)
	if st == "RUNNING" || st == "PAUSED" {
		t.Errorf("task still %s after its shim was killed", st)
	}
	if st != "" {
		// containerd keeps a task record: delete it
		ctr(t, "tasks", "delete", "-f", id)
	}
	for _, p := range pids {
		waitGone(t, "container process", p)
	}
	if st, _ := status(t, id); st != "" {
		t.Errorf("task still listed: %s", st)
	}
	if out, code := ctr(t, "containers", "delete", id); code != 0 {
		t.Errorf("containers delete: exit %d %q", code, out)
	}
}

// TestInitKilledOutside: the container's init killed from the host with
// kill -9; the shim reports the exit (137 = 128+SIGKILL) and the task can
// be deleted.
func TestInitKilledOutside(t *testing.T) {
	setup(t)
	id := newID(t)
	runDetached(t, id, nil, "sleep", "1000")
	waitStatus(t, id, "RUNNING", true)
	must(t, "tasks", "exec", "-d", "--exec-id", "bg", id, "sleep", "1000")
	_, pid := status(t, id)
	pids := taskPids(t, id, 2)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, id, "STOPPED", true)
	out, code := ctr(t, "tasks", "delete", id)
	if code != 0 {
		t.Errorf("tasks delete: exit %d %q", code, out)
	}
	if !strings.Contains(out, "137") {
		t.Errorf("tasks delete: %q, want exit status 137", out)
	}
	for _, p := range pids { // the exec dies with its init
		waitGone(t, "container process", p)
	}
	must(t, "containers", "delete", id)
}

// TestBadInput: errors with containerd's errdefs codes (ctr prints them):
// an exec id that exists, a kill of an unknown exec, a missing binary.
func TestBadInput(t *testing.T) {
	setup(t)
	id := newID(t)
	runDetached(t, id, nil, "sleep", "1000")
	waitStatus(t, id, "RUNNING", true)
	must(t, "tasks", "exec", "-d", "--exec-id", "dup", id, "sleep", "1000")
	out, code := ctr(t, "tasks", "exec", "--exec-id", "dup", id, "true")
	if code == 0 || !strings.Contains(out, "already exists") {
		t.Errorf("exec with an existing exec id: exit %d %q, want \"already exists\"", code, out)
	}
	out, code = ctr(t, "tasks", "kill", "--exec-id", "nosuch", "-s", "SIGKILL", id)
	if code == 0 || !strings.Contains(out, "not found") {
		t.Errorf("kill of an unknown exec id: exit %d %q, want \"not found\"", code, out)
	}
	// the task is unharmed
	if out, code := ctr(t, "tasks", "exec", "--exec-id", "ok", id, "sh", "-c", "echo fine"); code != 0 || !strings.Contains(out, "fine") {
		t.Errorf("exec after the errors: exit %d %q", code, out)
	}
	// a process binary that does not exist, in the init and in an exec
	out, code = ctr(t, "tasks", "exec", "--exec-id", "missing", id, "/no/such/binary")
	if code == 0 || !strings.Contains(strings.ToLower(out), "no such file") && !strings.Contains(out, "not found") {
		t.Errorf("exec of a missing binary: exit %d %q", code, out)
	}
	id2 := newID(t)
	t.Cleanup(func() { remove(t, id2) })
	out, code = ctr(t, "run", "-d", "--runtime", runtimeName, image, id2, "/no/such/binary")
	if code == 0 || !strings.Contains(strings.ToLower(out), "no such file") && !strings.Contains(out, "not found") {
		t.Errorf("run of a missing binary: exit %d %q", code, out)
	}
	t.Logf("run of a missing binary: %q", out)
	if st, _ := status(t, id2); st != "" {
		t.Errorf("task of the failed run listed: %s", st)
	}
}
