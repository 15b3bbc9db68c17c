package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestErrorsOnMissingContainer: every command that names a container fails
// the same way as runc when there is none, and `delete -f` of a missing
// container is not an error (containerd relies on that).
func TestErrorsOnMissingContainer(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"state", "nope"}, 1},
		{[]string{"start", "nope"}, 1},
		{[]string{"kill", "nope"}, 1},
		{[]string{"kill", "nope", "KILL"}, 1},
		{[]string{"delete", "nope"}, 1},
		{[]string{"delete", "-f", "nope"}, 0},
		{[]string{"delete", "--force", "nope"}, 0},
		{[]string{"pause", "nope"}, 1},
		{[]string{"resume", "nope"}, 1},
		{[]string{"ps", "nope"}, 1},
		{[]string{"exec", "nope", "true"}, 255}, // exec's "could not start"
		{[]string{"state"}, 1},                  // missing argument
		{[]string{"no-such-command"}, 3},        // urfave/cli's code
		{[]string{"list", "--bogus-flag"}, 1},   // unknown flag
	}
	each(t, func(t *testing.T, r *runtime) {
		for _, tt := range tests {
			res := r.fails(t, tt.code, tt.args...)
			if tt.code != 0 && strings.TrimSpace(res.stderr) == "" {
				t.Errorf("%s %v: nothing on stderr", r.name, tt.args)
			}
			if tt.code != 0 && len(tt.args) >= 2 && tt.args[1] == "nope" && !strings.Contains(res.stderr, "does not exist") {
				t.Errorf("%s %v: stderr %q does not say the container does not exist", r.name, tt.args, res.stderr)
			}
		}
	})
}

// TestLifecycle walks create → start → kill → delete with the checks a
// shim makes on the way, including the refusals.
func TestLifecycle(t *testing.T) {
	each(t, func(t *testing.T, r *runtime) {
		id := newID(t)
		bundle := r.bundle(t, "sleep", "100")
		r.track(t, id)
		pidFile := filepath.Join(t.TempDir(), "pid")

		r.ok(t, "create", "--bundle", bundle, "--pid-file", pidFile, id)
		st := r.state(t, id)
		if st["status"] != "created" || st["id"] != id || st["bundle"] != bundle {
			t.Errorf("after create: state %v", st)
		}
		pid, _ := st["pid"].(float64)
		if pid <= 0 {
			t.Fatalf("after create: pid %v", st["pid"])
		}
		if b, err := os.ReadFile(pidFile); err != nil || string(b) != strconv.Itoa(int(pid)) {
			t.Errorf("pid file = %q, %v; want %d without a newline", b, err, int(pid))
		}

		r.fails(t, 1, "create", "--bundle", bundle, id) // duplicate id

		r.ok(t, "start", id)
		r.waitStatus(t, id, "running")
		res := r.fails(t, 1, "start", id)
		if !strings.Contains(res.stderr, "already running") {
			t.Errorf("start twice: stderr %q", res.stderr)
		}
		res = r.fails(t, 1, "delete", id)
		if !strings.Contains(res.stderr, "cannot delete container "+id+" that is not stopped: running") {
			t.Errorf("delete running: stderr %q", res.stderr)
		}

		r.ok(t, "kill", id, "KILL")
		r.waitStatus(t, id, "stopped")
		if st := r.state(t, id); st["pid"] != float64(0) {
			t.Errorf("stopped container reports pid %v, want 0", st["pid"])
		}
		res = r.fails(t, 1, "kill", id)
		if !strings.Contains(res.stderr, "not running") {
			t.Errorf("kill stopped: stderr %q", res.stderr)
		}
		res = r.fails(t, 1, "start", id)
		if !strings.Contains(res.stderr, "stopped") {
			t.Errorf("start stopped: stderr %q", res.stderr)
		}
		r.ok(t, "delete", id)
		r.fails(t, 1, "state", id)
		if out := r.ok(t, "list", "-q"); strings.Contains(out, id) {
			t.Errorf("deleted container still listed: %q", out)
		}
	})
}

// TestDeleteCreatedAndForce: a created container goes without --force, a
// running one with it.
func TestDeleteCreatedAndForce(t *testing.T) {
	each(t, func(t *testing.T, r *runtime) {
		bundle := r.bundle(t, "sleep", "100")
		created, running := newID(t), newID(t)
		r.track(t, created)
		r.track(t, running)
		r.ok(t, "create", "-b", bundle, created)
		r.ok(t, "delete", created)
		r.fails(t, 1, "state", created)

		r.ok(t, "run", "-d", "-b", bundle, running)
		r.waitStatus(t, running, "running")
		r.ok(t, "delete", "--force", running)
		r.fails(t, 1, "state", running)
	})
}

// TestKillSignalSpellings: runc accepts numbers and names with or without
// SIG in any case, SIGTERM by default; an unknown name is an error. The
// workload traps TERM: as PID 1 of its namespace it would ignore it.
func TestKillSignalSpellings(t *testing.T) {
	each(t, func(t *testing.T, r *runtime) {
		bundle := r.bundle(t, "sh", "-c", "trap 'exit 0' TERM; : > /dev/shm/ready; while true; do sleep 0.1; done")
		for _, sig := range []string{"9", "KILL", "SIGKILL", "sigkill", "term", "15", ""} {
			id := newID(t)
			r.track(t, id)
			r.ok(t, "run", "-d", "--bundle", bundle, id)
			// A TERM that arrives before the trap is set is dropped
			// (the workload is its pid namespace's init).
			waitFor(t, func() bool { return r.cmd(t, "exec", id, "sh", "-c", "test -e /dev/shm/ready").code == 0 })
			r.fails(t, 1, "kill", id, "NOSUCHSIGNAL")
			args := []string{"kill", id}
			if sig != "" {
				args = append(args, sig)
			}
			r.ok(t, args...)
			r.waitStatus(t, id, "stopped")
			r.ok(t, "delete", id)
		}
	})
}

// TestKillCreated: before it execs the workload, the init dies of SIGTERM,
// SIGINT and SIGHUP and ignores SIGUSR1, as runc's does. As pid 1 of its
// namespace it only sees signals it has a handler for, so these need one.
func TestKillCreated(t *testing.T) {
	each(t, func(t *testing.T, r *runtime) {
		bundle := r.bundle(t, "true")
		for _, sig := range []string{"TERM", "INT", "HUP"} {
			id := newID(t)
			r.track(t, id)
			r.ok(t, "create", "--bundle", bundle, id)
			r.ok(t, "kill", id, sig)
			r.waitStatus(t, id, "stopped")
			r.ok(t, "delete", id)
		}
		id := newID(t)
		r.track(t, id)
		r.ok(t, "create", "--bundle", bundle, id)
		r.ok(t, "kill", id, "USR1")
		r.ok(t, "start", id)
		r.waitStatus(t, id, "stopped")
		r.ok(t, "delete", id)
	})
}

// TestRunForwardsSignals: a signal to a foreground run reaches the init, and
// run exits 128+N when the init dies of it.
func TestRunForwardsSignals(t *testing.T) {
	each(t, func(t *testing.T, r *runtime) {
		id := newID(t)
		r.track(t, id)
		// The workload is its pid namespace's init: a signal it has no
		// handler for is dropped, so wait for "ready" (trap installed).
		bundle := r.bundle(t, "sh", "-c", "trap 'exit 42' USR1; echo ready; while true; do sleep 0.1; done")
		for _, tt := range []struct {
			sig  os.Signal
			code int
		}{{syscall.SIGUSR1, 42}} {
			c := exec.Command(r.bin, "--root", r.root, "run", "--bundle", bundle, id)
			out := tempFile(t)
			c.Stdout, c.Stderr = out, tempFile(t)
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return strings.Contains(readBack(t, out), "ready") })
			c.Process.Signal(tt.sig)
			timer := time.AfterFunc(10*time.Second, func() { c.Process.Kill() })
			err := c.Wait()
			timer.Stop()
			if code := c.ProcessState.ExitCode(); code != tt.code {
				t.Errorf("run after %v: exit %d (%v), want %d", tt.sig, code, err, tt.code)
			}
		}
		// Killed by the runtime from outside: 128+9.
		id2 := newID(t)
		r.track(t, id2)
		c := exec.Command(r.bin, "--root", r.root, "run", "--bundle", r.bundle(t, "sleep", "100"), id2)
		c.Stdout, c.Stderr = tempFile(t), tempFile(t)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			res := r.cmd(t, "state", id2)
			return res.code == 0 && strings.Contains(res.stdout, `"running"`)
		})
		r.ok(t, "kill", id2, "KILL")
		c.Wait()
		if code := c.ProcessState.ExitCode(); code != 137 {
			t.Errorf("run killed with SIGKILL: exit %d, want 137", code)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunExitStatus: foreground run exits with the workload's status, 128+N
// when a signal killed it, and removes the container.
func TestRunExitStatus(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"zero", []string{"true"}, 0},
		{"three", []string{"sh", "-c", "exit 3"}, 3},
		{"255", []string{"sh", "-c", "exit 255"}, 255},
	}
	each(t, func(t *testing.T, r *runtime) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := newID(t)
				r.track(t, id)
				r.fails(t, tt.code, "run", "--bundle", r.bundle(t, tt.args...), id)
				r.fails(t, 1, "state", id) // deleted after it exited
			})
		}
	})
}

// TestRunOutput: a foreground run's workload writes to run's own stdout.
func TestRunOutput(t *testing.T) {
	each(t, func(t *testing.T, r *runtime) {
		id := newID(t)
		r.track(t, id)
		out := r.ok(t, "run", "--bundle", r.bundle(t, "echo", "hello from the container"), id)
		if out != "hello from the container\n" {
			t.Errorf("stdout = %q", out)
		}
	})
}

// TestExec: exit codes pass through; a command that cannot start is 255.
func TestExec(t *testing.T) {
	each(t, func(t *testing.T, r *runtime) {
		id := newID(t)
		r.track(t, id)
		r.ok(t, "run", "-d", "--bundle", r.bundle(t, "sleep", "100"), id)
		r.fails(t, 5, "exec", id, "sh", "-c", "exit 5")
		if out := r.ok(t, "exec", "--env", "FOO=bar", "--cwd", "/bin", id, "sh", "-c", "echo $FOO; pwd"); out != "bar\n/bin\n" {
			t.Errorf("exec output = %q", out)
		}
		if out := r.ok(t, "exec", "-u", "1000:1000", id, "id", "-u"); out != "1000\n" {
			t.Errorf("exec -u: id -u = %q", out)
		}
		r.fails(t, 255, "exec", id, "/no/such/binary")

		proc := filepath.Join(t.TempDir(), "process.json")
		os.WriteFile(proc, []byte(`{"args":["sh","-c","exit 7"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}}`), 0o644)
		r.fails(t, 7, "exec", "--process", proc, id)
	})
}

// TestPsPauseResume: ps lists the init; pause and resume move the status
// and refuse the wrong state like runc.
func TestPsPauseResume(t *testing.T) {
	each(t, func(t *testing.T, r *runtime) {
		id := newID(t)
		r.track(t, id)
		r.ok(t, "run", "-d", "--bundle", r.bundle(t, "sleep", "100"), id)
		pid := int(r.state(t, id)["pid"].(float64))

		var pids []int
		psOut := r.ok(t, "ps", "-f", "json", id)
		if !strings.HasSuffix(psOut, "]\n") {
			t.Errorf("ps -f json = %q: runc ends it with a newline", psOut)
		}
		if err := json.Unmarshal([]byte(psOut), &pids); err != nil || !reflect.DeepEqual(pids, []int{pid}) {
			t.Errorf("ps -f json = %v, %v; want [%d]", pids, err, pid)
		}
		table := strings.Split(strings.TrimSpace(r.ok(t, "ps", id)), "\n")
		if len(table) != 2 || !strings.Contains(table[0], "PID") || !strings.Contains(table[1], strconv.Itoa(pid)) {
			t.Errorf("ps table = %q", table)
		}

		r.fails(t, 1, "resume", id)
		r.ok(t, "pause", id)
		r.waitStatus(t, id, "paused")
		r.fails(t, 1, "pause", id)
		r.ok(t, "resume", id)
		r.waitStatus(t, id, "running")
	})
}

// TestOutputShapes compares state, list and events output with runc's: the
// same keys, the same layout (indentation, trailing newline or not, table
// columns).
func TestOutputShapes(t *testing.T) {
	type shape struct {
		stateKeys, listKeys, statsKeys []string
		stateHead                      string
		stateNewline                   bool
		listHeader                     []string
		emptyJSON, psJSON              string
	}
	shapes := map[string]shape{}
	each(t, func(t *testing.T, r *runtime) {
		var s shape
		s.emptyJSON = r.ok(t, "list", "--format", "json")

		id := newID(t)
		r.track(t, id)
		r.ok(t, "run", "-d", "--bundle", r.bundle(t, "sleep", "100"), id)
		raw := r.ok(t, "state", id)
		s.stateHead = raw[:min(len(raw), 18)]
		s.stateNewline = strings.HasSuffix(raw, "\n")
		s.stateKeys = keys(t, raw)

		var list []map[string]any
		if err := json.Unmarshal([]byte(r.ok(t, "list", "-f", "json")), &list); err != nil || len(list) != 1 {
			t.Fatalf("list -f json: %v, %d entries", err, len(list))
		}
		if list[0]["owner"] != "root" {
			t.Errorf("list owner = %v, want root", list[0]["owner"])
		}
		for k := range list[0] {
			s.listKeys = append(s.listKeys, k)
		}
		sort.Strings(s.listKeys)

		table := strings.Split(r.ok(t, "list"), "\n")
		s.listHeader = strings.Fields(table[0])
		// Aligned columns (a tabwriter, padding 3, min width 12 as runc).
		f := strings.Fields(table[1])
		if len(f) != 6 || f[0] != id || f[2] != "running" {
			t.Fatalf("list row = %q", table[1])
		}
		if strings.Index(table[0], "PID") != strings.Index(table[1], f[1]) || strings.Index(table[1], f[1]) != len(id)+3 {
			t.Errorf("list table not aligned like runc's:\n%s\n%s", table[0], table[1])
		}

		ev := r.ok(t, "events", "--stats", id)
		var e struct {
			Type string         `json:"type"`
			ID   string         `json:"id"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(ev), &e); err != nil || e.Type != "stats" || e.ID != id {
			t.Errorf("events --stats = %q (%v)", ev, err)
		}
		for k := range e.Data {
			s.statsKeys = append(s.statsKeys, k)
		}
		sort.Strings(s.statsKeys)
		if _, ok := e.Data["memory"].(map[string]any)["usage"]; !ok {
			t.Errorf("events --stats has no memory.usage: %q", ev)
		}
		shapes[r.name] = s
	})
	if ref, ok := shapes["runc"]; ok {
		if got, ok := shapes["subject"]; ok && !reflect.DeepEqual(got, ref) {
			t.Errorf("output shapes differ from runc's:\n got %+v\nwant %+v", got, ref)
		}
	}
}

func keys(t *testing.T, raw string) []string {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("%v in %q", err, raw)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestSpecRefusesOverwrite: `spec` writes config.json once and then refuses
// with runc's message.
func TestSpecRefusesOverwrite(t *testing.T) {
	each(t, func(t *testing.T, r *runtime) {
		dir := t.TempDir()
		r.ok(t, "spec", "--bundle", dir)
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
			t.Fatal(err)
		}
		res := r.fails(t, 1, "spec", "--bundle", dir)
		if !strings.Contains(res.stderr, "File config.json exists. Remove it first") {
			t.Errorf("stderr = %q", res.stderr)
		}
	})
}
