package container_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/container"
)

// env is one test's state root with the leak check armed.
type env struct {
	t    *testing.T
	root string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	root := testutil.StateRoot(t)
	testutil.Leaks(t, root)
	return &env{t: t, root: root}
}

// result is what a container printed and how it ended.
type result struct {
	out    string
	status container.ExitStatus
}

// run creates, starts, waits for and deletes one container from bundle,
// with the spec edited by edit, and returns its output (stdout+stderr).
func (e *env) run(id, bundle string, start *container.StartProcess) result {
	e.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Close()
	c, err := container.Create(e.root, container.CreateOpts{ID: id, Bundle: bundle, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		e.t.Fatalf("create: %v", err)
	}
	defer func() {
		if err := c.Delete(true); err != nil {
			e.t.Errorf("delete: %v", err)
		}
	}()
	if st, _ := c.State(); st.Status != container.Created {
		e.t.Fatalf("status after create = %s, want created", st.Status)
	}
	if err := c.Start(start); err != nil {
		e.t.Fatalf("start: %v", err)
	}
	out, _ := io.ReadAll(r)
	st := c.Init().Wait()
	if s, _ := c.State(); s.Status != container.Stopped {
		e.t.Errorf("status after exit = %s, want stopped", s.Status)
	}
	return result{out: string(out), status: st}
}

func bundleWith(t *testing.T, edit func(*specs.Spec), args ...string) string {
	b := testutil.Bundle(t, args...)
	if edit != nil {
		s := testutil.ReadSpec(t, b)
		edit(s)
		testutil.WriteSpec(t, b, s)
	}
	return b
}

func TestRunTrue(t *testing.T) {
	e := newEnv(t)
	res := e.run("true", bundleWith(t, nil, "/bin/true"), nil)
	if res.status.Code != 0 {
		t.Fatalf("exit = %+v, output %q", res.status, res.out)
	}
}

func TestExitCodeAndSignal(t *testing.T) {
	e := newEnv(t)
	res := e.run("exit3", bundleWith(t, nil, "sh", "-c", "exit 3"), nil)
	if res.status.Code != 3 {
		t.Errorf("exit code = %d, want 3", res.status.Code)
	}
}

// TestInside checks, from inside one container, what the spec asked for.
func TestInside(t *testing.T) {
	e := newEnv(t)
	script := `hostname; cat /proc/self/status | grep -E '^(CapEff|CapBnd|NoNewPrivs|Uid|Gid|Groups)'; ` +
		`grep ' / ' /proc/self/mountinfo; ulimit -n; pwd; echo "FOO=$FOO"; echo pid=$$; ` +
		`cat /proc/sys/kernel/shmmni; umask; ls /dev/null /dev/zero /dev/ptmx /dev/fd`
	b := bundleWith(t, func(s *specs.Spec) {
		s.Hostname = "inside-test"
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}}
		s.Process.Env = append(s.Process.Env, "FOO=bar")
		s.Process.Cwd = "/tmp"
		s.Process.NoNewPrivileges = true
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 512}}
		s.Linux.Sysctl = map[string]string{"kernel.shmmni": "2048"}
		um := uint32(0o027)
		s.Process.User.Umask = &um
	}, "sh", "-c", script)
	res := e.run("inside", b, nil)
	if res.status.Code != 0 {
		t.Fatalf("exit = %+v, output:\n%s", res.status, res.out)
	}
	for _, want := range []string{
		"inside-test\n", "CapEff:\t0000000000000000", "NoNewPrivs:\t1",
		"Uid:\t1000\t1000\t1000\t1000", "Gid:\t1000\t1000\t1000\t1000", "Groups:\t10",
		" / ro,", "512\n", "/tmp\n", "FOO=bar\n", "pid=1\n", "2048\n", "0027\n", "/dev/ptmx",
	} {
		if !strings.Contains(res.out, want) {
			t.Errorf("output lacks %q:\n%s", want, res.out)
		}
	}
}

// TestStartProcess is the fast-start primitive: a created container started
// with another process and a CPU set.
func TestStartProcess(t *testing.T) {
	e := newEnv(t)
	b := bundleWith(t, nil, "sh", "-c", "echo original")
	res := e.run("startproc", b, &container.StartProcess{
		Args: []string{"sh", "-c", "echo replaced; grep Cpus_allowed_list /proc/self/status; pwd"},
		Cwd:  "/etc",
		CPUs: "0",
	})
	for _, want := range []string{"replaced\n", "Cpus_allowed_list:\t0\n", "/etc\n"} {
		if !strings.Contains(res.out, want) {
			t.Errorf("output lacks %q:\n%s", want, res.out)
		}
	}
	if strings.Contains(res.out, "original") {
		t.Errorf("the spec's process ran instead of the replacement:\n%s", res.out)
	}
}

func TestExecKillDelete(t *testing.T) {
	e := newEnv(t)
	b := bundleWith(t, nil, "sleep", "1000")
	c, err := container.Create(e.root, container.CreateOpts{ID: "execs", Bundle: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(true) })
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(false); !errors.Is(err, container.ErrRunning) {
		t.Errorf("delete of a running container without force: err = %v, want ErrRunning", err)
	}
	if err := c.Start(nil); !errors.Is(err, container.ErrNotCreated) {
		t.Errorf("second start: err = %v, want ErrNotCreated", err)
	}

	r, w, _ := os.Pipe()
	p, err := c.Exec(container.ExecOpts{
		Process: &specs.Process{Args: []string{"sh", "-c", "echo pid=$$; cat /proc/1/cmdline; hostname; exit 7"}, Env: []string{"PATH=/bin"}},
		Stdout:  w, Stderr: w,
	})
	w.Close()
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	out, _ := io.ReadAll(r)
	r.Close()
	if st := p.Wait(); st.Code != 7 {
		t.Errorf("exec exit code = %d, want 7", st.Code)
	}
	if !strings.Contains(string(out), "sleep") || strings.Contains(string(out), "pid=1\n") {
		t.Errorf("exec did not run in the container's pid namespace:\n%s", out)
	}

	if _, err := c.Exec(container.ExecOpts{Process: &specs.Process{Args: []string{"/no/such/binary"}}}); err == nil ||
		!strings.Contains(err.Error(), "/no/such/binary") {
		t.Errorf("exec of a missing binary: err = %v, want one naming it", err)
	}

	pids, err := c.Pids()
	if err != nil || len(pids) != 1 || pids[0] != c.Init().Pid {
		t.Errorf("pids = %v, %v; want [%d]", pids, err, c.Init().Pid)
	}
	if err := c.Pause(); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if st, _ := c.State(); st.Status != container.Paused {
		t.Errorf("status after pause = %s", st.Status)
	}
	if err := c.Resume(); err != nil {
		t.Fatalf("resume: %v", err)
	}
	// sleep as the pid namespace's init has no SIGTERM handler, so the
	// kernel drops SIGTERM; SIGKILL from outside the namespace always works.
	if err := c.Kill(unix.SIGKILL, false); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if st := c.Init().Wait(); !st.Signaled || st.Signal != int(unix.SIGKILL) || st.Code != 137 {
		t.Errorf("init status = %+v, want killed by SIGKILL (137)", st)
	}
	if err := c.Kill(unix.SIGTERM, false); !errors.Is(err, container.ErrNotRunning) {
		t.Errorf("kill of a stopped container: err = %v, want ErrNotRunning", err)
	}
	if err := c.Delete(false); err != nil {
		t.Fatalf("delete of a stopped container: %v", err)
	}
	if _, err := container.Load(e.root, "execs"); !errors.Is(err, container.ErrNotExist) {
		t.Errorf("load after delete: err = %v, want ErrNotExist", err)
	}
}

// TestConcurrentDelete: two processes' worth of handles delete the same
// container at once; the container lock lets one do it, the other finds
// it gone, and the poststop hook runs exactly once.
func TestConcurrentDelete(t *testing.T) {
	e := newEnv(t)
	log := filepath.Join(t.TempDir(), "poststop")
	b := bundleWith(t, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo x >> " + log}}}}
	}, "sleep", "1000")
	c, err := container.Create(e.root, container.CreateOpts{ID: "racy", Bundle: b})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(nil); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			h, err := container.Load(e.root, "racy")
			if err == nil {
				err = h.Delete(true)
			}
			errs <- err
		}()
	}
	var ok, gone int
	for i := 0; i < 2; i++ {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, container.ErrNotExist):
			gone++
		default:
			t.Errorf("delete: %v", err)
		}
	}
	c.Init().Wait()
	if ok != 1 || gone != 1 {
		t.Errorf("deletes: %d succeeded, %d found it gone; want 1 and 1", ok, gone)
	}
	if got, _ := os.ReadFile(log); string(got) != "x\n" {
		t.Errorf("poststop ran %d times, want once", strings.Count(string(got), "x"))
	}
}
