package shim_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	taskapi "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
)

// shimLog reads the daemon's log through the "log" fifo containerd makes
// in the first bundle of a pod.
type shimLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func readShimLog(t *testing.T, bundle string) *shimLog {
	path := filepath.Join(bundle, "log")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read-write, so opening does not wait for the daemon.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	l := &shimLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			l.mu.Lock()
			l.buf.Write(b[:n])
			l.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { f.Close(); <-done })
	return l
}

func (l *shimLog) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		got := l.buf.String()
		l.mu.Unlock()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim log lacks %q:\n%s", want, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parkedShells lists the shim's children that are parked inits other
// than the containers': the pool's shells.
func parkedShells(t *testing.T, shim int, except ...uint32) map[int]bool {
	t.Helper()
	// Each thread lists the children it forked.
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", shim))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("tasks of shim %d: %v", shim, err)
	}
	var kids []string
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		kids = append(kids, strings.Fields(string(b))...)
	}
	out := map[int]bool{}
next:
	for _, f := range kids {
		var pid int
		fmt.Sscan(f, &pid)
		for _, e := range except {
			if int(e) == pid {
				continue next
			}
		}
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.Contains(exe, "memfd:") {
			out[pid] = true
		}
	}
	return out
}

func waitShells(t *testing.T, shim, n int, except ...uint32) map[int]bool {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := parkedShells(t, shim, except...)
		if len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim has %d parked shells, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShimFastStart: a pod annotated slrt.io/fast-start keeps shells
// ready; its app container is made from one (its pid is a shell's), starts
// pinned by slrt.io/cpu-affinity, and the pool refills. A container that
// does not fit is created the normal way and the log says why; malformed
// or out-of-cpuset hints fail Create naming the annotation; deleting the
// sandbox ends the shells.
func TestShimFastStart(t *testing.T) {
	h := newHarness(t, "fastpod")
	ctx := context.Background()
	sbBundle := h.bundle(func(s *specs.Spec) {
		s.Annotations["io.kubernetes.cri.container-type"] = "sandbox"
		s.Annotations["slrt.io/fast-start"] = "2"
	}, "sleep", "1000")
	shimLog := readShimLog(t, sbBundle)
	sb := h.create("sandbox", sbBundle, nil)
	// The pool is made in the sandbox's Create but fills only after its
	// Start, so neither request waits on spawns.
	if n := len(parkedShells(t, h.pid, sb.Pid)); n != 0 {
		t.Errorf("%d shells spawned before the sandbox's Start, want 0", n)
	}
	h.startTask("sandbox", "")
	shimLog.waitFor(t, "pod sandbox: fast start with 2 shells")
	shells := waitShells(t, h.pid, 2, sb.Pid)

	app := func(name string, edit func(*specs.Spec), args ...string) string {
		return h.bundle(func(s *specs.Spec) {
			s.Annotations["io.kubernetes.cri.container-type"] = "container"
			for i, ns := range s.Linux.Namespaces {
				switch ns.Type {
				case specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace:
					s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/%s", sb.Pid, nsFile(ns.Type))
				}
			}
			s.Hostname = ""
			if edit != nil {
				edit(s)
			}
		}, args...)
	}
	out := h.output("app.out")
	ab := app("app", func(s *specs.Spec) { s.Annotations["slrt.io/cpu-affinity"] = "0" },
		"sh", "-c", "grep Cpus_allowed_list /proc/self/status; hostname")
	h.start("app", ab)
	res := h.create("app", ab, &taskapi.CreateTaskRequest{Stdout: out.path})
	if !shells[int(res.Pid)] {
		t.Errorf("app's init %d is not one of the parked shells %v", res.Pid, shells)
	}
	shimLog.waitFor(t, fmt.Sprintf("container app: created from fast-start shell %d", res.Pid))
	h.startTask("app", "")
	if code := h.wait("app", ""); code != 0 {
		t.Errorf("app exit %d: %s", code, out.all(t))
	}
	got := out.all(t)
	sbHost, _ := os.ReadFile(fmt.Sprintf("/proc/%d/root/etc/hostname", sb.Pid))
	if !strings.Contains(got, "Cpus_allowed_list:\t0\n") {
		t.Errorf("app output lacks its CPU hint:\n%s (sandbox hostname %q)", got, sbHost)
	}
	h.delete("app")
	waitShells(t, h.pid, 2, sb.Pid)

	// "auto" picks the least-loaded CPU of the container's cpuset (CPU 1,
	// or 0 on a one-CPU machine).
	cpu := "1"
	if runtime.NumCPU() < 2 {
		cpu = "0"
	}
	autoOut := h.output("auto.out")
	auto := app("auto", func(s *specs.Spec) {
		s.Annotations["slrt.io/cpu-affinity"] = "auto"
		s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: cpu, Mems: "0"}}
	}, "sh", "-c", "grep Cpus_allowed_list /proc/self/status")
	h.start("auto", auto)
	// The next container (as a restart after a crash would be) is made
	// from a shell of the refilled pool.
	refilled := parkedShells(t, h.pid, sb.Pid)
	if ar := h.create("auto", auto, &taskapi.CreateTaskRequest{Stdout: autoOut.path}); !refilled[int(ar.Pid)] {
		t.Errorf("second app's init %d is not one of the refilled shells %v", ar.Pid, refilled)
	}
	h.startTask("auto", "")
	h.wait("auto", "")
	if got := autoOut.all(t); got != "Cpus_allowed_list:\t"+cpu+"\n" {
		t.Errorf("auto affinity within cpuset %s: %q", cpu, got)
	}
	h.delete("auto")

	// Sharing the sandbox's pid namespace does not fit the shells: made
	// the normal way, and the log says why.
	shared := app("shared", func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.PIDNamespace {
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/pid", sb.Pid)
			}
		}
	}, "true")
	h.start("shared", shared)
	before := parkedShells(t, h.pid, sb.Pid)
	sr := h.create("shared", shared, nil)
	if before[int(sr.Pid)] {
		t.Errorf("a container sharing the pod's pid namespace got a shell")
	}
	shimLog.waitFor(t, "container shared: created without a fast-start shell: pid namespace: the shell's is new, the spec's is joined from /proc/")
	h.startTask("shared", "")
	h.wait("shared", "")
	h.delete("shared")

	// Bad hints fail Create, naming the annotation; nothing is made.
	for _, tc := range []struct {
		name, key, value, want string
		edit                   func(*specs.Spec)
	}{
		{"badaff", "slrt.io/cpu-affinity", "0-", `annotation slrt.io/cpu-affinity: "0-" is neither a CPU list`, nil},
		{"badsched", "slrt.io/sched", "fifo:0", `annotation slrt.io/sched: "fifo:0" has a priority outside 1 to 99`, nil},
		{"outside", "slrt.io/cpu-affinity", "1", "annotation slrt.io/cpu-affinity: CPUs 1 are not all within the container's cpuset 0", func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}
		}},
	} {
		b := app(tc.name, func(s *specs.Spec) {
			s.Annotations[tc.key] = tc.value
			if tc.edit != nil {
				tc.edit(s)
			}
		}, "true")
		h.start(tc.name, b)
		_, err := h.task.Create(ctx, &taskapi.CreateTaskRequest{ID: tc.name, Bundle: b})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "InvalidArgument") {
			t.Errorf("%s: create err = %v, want InvalidArgument with %q", tc.name, err, tc.want)
		}
	}
	if n := len(parkedShells(t, h.pid, sb.Pid)); n != 2 {
		t.Errorf("%d shells after refused creates, want 2", n)
	}

	// slrt.io/sched: the policy is the workload's where the node allows
	// it; where it does not (here: real-time group scheduling gives a new
	// cgroup no budget), Create fails naming the annotation.
	rt := h.output("rt.out")
	rb := app("rt", func(s *specs.Spec) { s.Annotations["slrt.io/sched"] = "fifo:10" }, "grep", "^policy", "/proc/self/sched")
	h.start("rt", rb)
	if _, err := h.task.Create(ctx, &taskapi.CreateTaskRequest{ID: "rt", Bundle: rb, Stdout: rt.path}); err != nil {
		if !strings.Contains(err.Error(), "FailedPrecondition") || !strings.Contains(err.Error(), "annotation slrt.io/sched (SCHED_FIFO priority 10): the node does not allow it") {
			t.Errorf("create with slrt.io/sched refused as %v, want FailedPrecondition naming the annotation", err)
		}
		t.Logf("this node refuses SCHED_FIFO: %v", err)
	} else {
		h.mu.Lock()
		h.created = append(h.created, "rt")
		h.mu.Unlock()
		h.startTask("rt", "")
		h.wait("rt", "")
		if got := rt.all(t); !strings.Contains(got, "1\n") {
			t.Errorf("rt container's policy line %q, want 1 (SCHED_FIFO)", got)
		}
		h.delete("rt")
	}

	// The sandbox goes: its shells go with it.
	h.task.Kill(ctx, &taskapi.KillRequest{ID: "sandbox", Signal: uint32(unix.SIGKILL)})
	h.wait("sandbox", "")
	h.delete("sandbox")
	for pid := range shells {
		if unix.Kill(pid, 0) == nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(b), ") Z ") {
				t.Errorf("shell %d outlived its pod", pid)
			}
		}
	}
	if n := len(parkedShells(t, h.pid)); n != 0 {
		t.Errorf("%d parked shells after the sandbox's delete", n)
	}
}
