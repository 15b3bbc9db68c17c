package shim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	taskapi "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
	"github.com/slrt/slrt/shim/internal/api/types/runc/options"
	tasktypes "github.com/slrt/slrt/shim/internal/api/types/task"
)

// processAny is an exec's process spec as containerd sends it.
func processAny(t *testing.T, p *specs.Process) *anypb.Any {
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process", Value: b}
}

func execProcess(args ...string) *specs.Process {
	return &specs.Process{Args: args, Cwd: "/", Env: []string{"PATH=/bin:/usr/bin:/sbin:/usr/sbin"}}
}

func code(err error) codes.Code { return status.Code(err) }

// TestShimExec: an exec's stdio goes through its fifos, its exit code is
// right, exec-added/exec-started/exit events are published in order, and
// when the init is killed the exits of its running execs come first.
func TestShimExec(t *testing.T) {
	h := newHarness(t, "exec")
	ctx := context.Background()
	cr := h.create("c1", h.bundle(nil, "sleep", "100"), nil)
	h.startTask("c1", "")

	out, errOut := h.output("e1-out"), h.output("e1-err")
	req := &taskapi.ExecProcessRequest{ID: "c1", ExecID: "e1", Stdout: out.path, Stderr: errOut.path,
		Spec: processAny(t, execProcess("sh", "-c", "echo out-$$; echo err >&2; exit 7"))}
	if _, err := h.task.Exec(ctx, req); err != nil {
		t.Fatalf("exec: %v", err)
	}
	if _, err := h.task.Exec(ctx, req); code(err) != codes.AlreadyExists {
		t.Errorf("second exec e1: %v, want AlreadyExists", err)
	}
	if st := h.taskState("c1", "e1"); st.Status != tasktypes.Status_CREATED || st.ID != "e1" {
		t.Errorf("state of an added exec: %v", st)
	}
	pid := h.startTask("c1", "e1")
	if pid == 0 || pid == cr.Pid {
		t.Errorf("exec pid %d (init %d)", pid, cr.Pid)
	}
	if c := h.wait("c1", "e1"); c != 7 {
		t.Errorf("exec exit %d, want 7", c)
	}
	if got := out.all(t); !strings.HasPrefix(got, "out-") {
		t.Errorf("exec stdout %q", got)
	}
	if got := errOut.all(t); got != "err\n" {
		t.Errorf("exec stderr %q", got)
	}
	if st := h.taskState("c1", "e1"); st.Status != tasktypes.Status_STOPPED || st.ExitStatus != 7 || st.Pid != pid {
		t.Errorf("state of an exited exec: %v", st)
	}
	if _, err := h.task.Start(ctx, &taskapi.StartRequest{ID: "c1", ExecID: "e1"}); err == nil {
		t.Error("second start of e1 succeeded")
	}
	if res, err := h.task.Delete(ctx, &taskapi.DeleteRequest{ID: "c1", ExecID: "e1"}); err != nil || res.ExitStatus != 7 {
		t.Errorf("delete exec: %v %v", res, err)
	}
	if _, err := h.task.State(ctx, &taskapi.StateRequest{ID: "c1", ExecID: "e1"}); code(err) != codes.NotFound {
		t.Errorf("state of a deleted exec: %v, want NotFound", err)
	}
	if _, err := h.task.Kill(ctx, &taskapi.KillRequest{ID: "c1", ExecID: "nope", Signal: 9}); code(err) != codes.NotFound {
		t.Errorf("kill of an unknown exec: %v, want NotFound", err)
	}

	// Two long-running execs, listed by Pids with their exec ids.
	execPids := map[string]uint32{}
	for _, id := range []string{"e2", "e3"} {
		if _, err := h.task.Exec(ctx, &taskapi.ExecProcessRequest{ID: "c1", ExecID: id, Spec: processAny(t, execProcess("sleep", "100"))}); err != nil {
			t.Fatalf("exec %s: %v", id, err)
		}
		execPids[id] = h.startTask("c1", id)
	}
	if st := h.taskState("c1", "e2"); st.Status != tasktypes.Status_RUNNING {
		t.Errorf("state of a running exec: %v", st)
	}
	pids, err := h.task.Pids(ctx, &taskapi.PidsRequest{ID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	found := map[uint32]string{}
	for _, p := range pids.Processes {
		found[p.Pid] = ""
		if p.Info != nil {
			var d options.ProcessDetails
			if err := proto.Unmarshal(p.Info.Value, &d); err != nil {
				t.Errorf("pid %d: info %v", p.Pid, err)
			}
			found[p.Pid] = d.ExecID
		}
	}
	if _, ok := found[cr.Pid]; !ok {
		t.Errorf("pids %v lack the init %d", found, cr.Pid)
	}
	for id, pid := range execPids {
		if found[pid] != id {
			t.Errorf("pids %v: want %d as exec %s", found, pid, id)
		}
	}

	// Killing the init (not all) ends the execs too; their exits come first.
	if _, err := h.task.Kill(ctx, &taskapi.KillRequest{ID: "c1", Signal: uint32(unix.SIGKILL)}); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if c := h.wait("c1", ""); c != 137 {
		t.Errorf("init exit %d, want 137", c)
	}
	for _, id := range []string{"e2", "e3"} {
		if c := h.wait("c1", id); c != 137 {
			t.Errorf("exec %s exit %d, want 137", id, c)
		}
	}
	if _, err := h.task.Kill(ctx, &taskapi.KillRequest{ID: "c1", Signal: 9}); code(err) != codes.NotFound {
		t.Errorf("kill of an exited init: %v, want NotFound", err)
	}
	h.delete("c1")
	ev := h.waitEvents("delete c1")
	want := []string{"create c1", "start c1", "exec-added c1 e1", "exec-started c1 e1", "exit c1 e1",
		"exec-added c1 e2", "exec-started c1 e2", "exec-added c1 e3", "exec-started c1 e3"}
	if len(ev) < len(want) || !equal(ev[:len(want)], want) {
		t.Errorf("events %q, want them to begin with %q", ev, want)
	}
	before(t, ev, "exit c1 e2", "exit c1 c1")
	before(t, ev, "exit c1 e3", "exit c1 c1")
	before(t, ev, "exit c1 c1", "delete c1")
}

// TestShimTTY: a terminal process gets its pty through the console
// socketpair, ResizePty sets its size, and its output reaches the stdout
// fifo; an exec with a terminal works the same.
func TestShimTTY(t *testing.T) {
	h := newHarness(t, "tty")
	ctx := context.Background()
	b := h.bundle(func(s *specs.Spec) { s.Process.Terminal = true },
		"sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo is-a-tty; stty size; exit 4")
	out := h.output("out")
	h.create("c1", b, &taskapi.CreateTaskRequest{Terminal: true, Stdout: out.path})
	if _, err := h.task.ResizePty(ctx, &taskapi.ResizePtyRequest{ID: "c1", Width: 101, Height: 33}); err != nil {
		t.Fatalf("resize: %v", err)
	}
	h.startTask("c1", "")
	if c := h.wait("c1", ""); c != 4 {
		t.Errorf("exit %d, want 4", c)
	}
	got := out.all(t)
	if !strings.Contains(got, "is-a-tty") || !strings.Contains(got, "33 101") {
		t.Errorf("tty output %q, want is-a-tty and size 33 101", got)
	}
	h.delete("c1")

	// An exec with a terminal, its own size.
	h.create("c2", h.bundle(nil, "sleep", "100"), nil)
	h.startTask("c2", "")
	p := execProcess("sh", "-c", "sleep 0.3; stty size")
	p.Terminal = true
	eout := h.output("eout")
	if _, err := h.task.Exec(ctx, &taskapi.ExecProcessRequest{ID: "c2", ExecID: "t1", Terminal: true, Stdout: eout.path, Spec: processAny(t, p)}); err != nil {
		t.Fatal(err)
	}
	h.startTask("c2", "t1")
	if _, err := h.task.ResizePty(ctx, &taskapi.ResizePtyRequest{ID: "c2", ExecID: "t1", Width: 77, Height: 22}); err != nil {
		t.Fatalf("resize exec: %v", err)
	}
	if c := h.wait("c2", "t1"); c != 0 {
		t.Errorf("tty exec exit %d", c)
	}
	if got := eout.all(t); !strings.Contains(got, "22 77") {
		t.Errorf("tty exec output %q, want size 22 77", got)
	}
}

// TestShimCloseIO: a cat reading stdin sees end of input after CloseIO,
// though containerd still holds the stdin fifo open.
func TestShimCloseIO(t *testing.T) {
	h := newHarness(t, "closeio")
	ctx := context.Background()
	in := filepath.Join(h.dir, "in")
	if err := unix.Mkfifo(in, 0o600); err != nil {
		t.Fatal(err)
	}
	out := h.output("out")
	h.create("c1", h.bundle(nil, "cat"), &taskapi.CreateTaskRequest{Stdin: in, Stdout: out.path})
	h.startTask("c1", "")
	w, err := os.OpenFile(in, os.O_WRONLY, 0) // meets the shim's open
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString("through stdin\n"); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "through stdin\n")
	if st := h.taskState("c1", ""); st.Status != tasktypes.Status_RUNNING {
		t.Fatalf("cat is not running before CloseIO: %v", st)
	}
	if _, err := h.task.CloseIO(ctx, &taskapi.CloseIORequest{ID: "c1", Stdin: true}); err != nil {
		t.Fatalf("closeio: %v", err)
	}
	if c := h.wait("c1", ""); c != 0 {
		t.Errorf("cat exit %d", c)
	}
	h.delete("c1")
}

// cgroupFile is a file of the v1 controller's (or the v2) cgroup of pid.
func cgroupFile(t *testing.T, pid uint32, controller, file string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == controller {
				return filepath.Join("/sys/fs/cgroup", controller, f[2], file)
			}
		}
		if f[0] == "0" && f[1] == "" && strings.HasPrefix(file, controller+".max") {
			return filepath.Join("/sys/fs/cgroup", f[2], file)
		}
	}
	t.Fatalf("no %s cgroup for pid %d in %s", controller, pid, b)
	return ""
}

// TestShimControl: State through a task's life, Pause/Resume with their
// events, Stats decoded as the CRI does, Update seen in the cgroup.
func TestShimControl(t *testing.T) {
	h := newHarness(t, "control")
	ctx := context.Background()
	cr := h.create("c1", h.bundle(nil, "sh", "-c", "x=$(seq 1000); sleep 100"), nil)
	if st := h.taskState("c1", ""); st.Status != tasktypes.Status_CREATED || st.Pid != cr.Pid {
		t.Errorf("state after create: %v", st)
	}
	h.startTask("c1", "")
	if st := h.taskState("c1", ""); st.Status != tasktypes.Status_RUNNING || st.Pid != cr.Pid || st.ExitedAt != nil {
		t.Errorf("state after start: %v", st)
	}

	if _, err := h.task.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if st := h.taskState("c1", ""); st.Status != tasktypes.Status_PAUSED {
		t.Errorf("state after pause: %v", st.Status)
	}
	if _, err := h.task.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}); code(err) != codes.FailedPrecondition {
		t.Errorf("pause of a paused task: %v, want FailedPrecondition", err)
	}
	if _, err := h.task.Resume(ctx, &taskapi.ResumeRequest{ID: "c1"}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if st := h.taskState("c1", ""); st.Status != tasktypes.Status_RUNNING {
		t.Errorf("state after resume: %v", st.Status)
	}

	sr, err := h.task.Stats(ctx, &taskapi.StatsRequest{ID: "c1"})
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	switch sr.Stats.GetTypeUrl() {
	case "io.containerd.cgroups.v1.Metrics":
		var m v1stats.Metrics
		if err := proto.Unmarshal(sr.Stats.Value, &m); err != nil {
			t.Fatal(err)
		}
		if m.GetMemory().GetUsage().GetUsage() == 0 {
			t.Errorf("v1 metrics without memory usage: %v", &m)
		}
	case "io.containerd.cgroups.v2.Metrics":
		var m v2stats.Metrics
		if err := proto.Unmarshal(sr.Stats.Value, &m); err != nil {
			t.Fatal(err)
		}
		if m.GetMemory().GetUsage() == 0 {
			t.Errorf("v2 metrics without memory usage: %v", &m)
		}
	default:
		t.Errorf("stats type %q", sr.Stats.GetTypeUrl())
	}

	limit := int64(48 << 20)
	res, _ := json.Marshal(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}})
	if _, err := h.task.Update(ctx, &taskapi.UpdateTaskRequest{ID: "c1",
		Resources: &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources", Value: res}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	file := cgroupFile(t, cr.Pid, "memory", "memory.limit_in_bytes")
	if _, err := os.Stat(file); err != nil {
		file = cgroupFile(t, cr.Pid, "memory", "memory.max")
	}
	b, err := os.ReadFile(file)
	if got, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil || got != limit {
		t.Errorf("%s = %q (%v), want %d", file, b, err, limit)
	}
	if _, err := h.task.Update(ctx, &taskapi.UpdateTaskRequest{ID: "c1"}); code(err) != codes.InvalidArgument {
		t.Errorf("update without resources: %v, want InvalidArgument", err)
	}

	// The workload is pid 1 of its pid namespace: only SIGKILL is sure.
	if _, err := h.task.Kill(ctx, &taskapi.KillRequest{ID: "c1", Signal: uint32(unix.SIGKILL), All: true}); err != nil {
		t.Fatal(err)
	}
	if c := h.wait("c1", ""); c != 137 {
		t.Errorf("exit %d after SIGKILL", c)
	}
	if st := h.taskState("c1", ""); st.Status != tasktypes.Status_STOPPED || st.ExitStatus != 137 || st.ExitedAt == nil {
		t.Errorf("state after exit: %v", st)
	}
	if _, err := h.task.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}); code(err) != codes.FailedPrecondition {
		t.Errorf("pause of a stopped task: %v, want FailedPrecondition", err)
	}
	h.delete("c1")
	ev := h.waitEvents("delete c1")
	want := []string{"create c1", "start c1", "paused c1", "resumed c1", "exit c1 c1", "delete c1"}
	if !equal(ev, want) {
		t.Errorf("events %q, want %q", ev, want)
	}
}

// TestShimOOM: a container that outgrows its memory limit is reported
// with a TaskOOM before its TaskExit.
func TestShimOOM(t *testing.T) {
	h := newHarness(t, "oom")
	limit := int64(16 << 20)
	b := h.bundle(func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
	}, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
	h.create("c1", b, nil)
	h.startTask("c1", "")
	if c := h.wait("c1", ""); c != 137 {
		t.Errorf("exit %d, want 137 (OOM-killed)", c)
	}
	ev := h.waitEvents("exit c1 c1")
	before(t, ev, "oom c1", "exit c1 c1")
	h.delete("c1")
	if ev := h.waitEvents("delete c1"); strings.Count(strings.Join(ev, ","), "oom c1") != 1 {
		t.Errorf("events %q: want exactly one oom", ev)
	}
}

// TestShimPod: two containers of one pod share one shim; the app
// container joins the sandbox's network, ipc and uts namespaces by path;
// Shutdown is a no-op until the last container is deleted.
func TestShimPod(t *testing.T) {
	h := newHarness(t, "pod1")
	ctx := context.Background()
	sb := h.create("sandbox", h.bundle(nil, "sleep", "100"), nil)
	h.startTask("sandbox", "")
	join := []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace}
	app := h.bundle(func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			for _, j := range join {
				if ns.Type == j {
					s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/%s", sb.Pid, nsFile(j))
				}
			}
		}
	}, "sleep", "100")
	addr := h.addr
	if a := h.start("app", app); a != addr {
		t.Fatalf("second container of the pod got shim %s, want %s", a, addr)
	}
	ar := h.create("app", app, nil)
	h.startTask("app", "")
	for _, ns := range []string{"net", "ipc", "uts", "pid"} {
		a, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", ar.Pid, ns))
		s, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", sb.Pid, ns))
		if shared := a == s; shared != (ns != "pid") {
			t.Errorf("%s namespace: app %s, sandbox %s", ns, a, s)
		}
	}
	for _, id := range []string{"sandbox", "app"} {
		cn, err := h.task.Connect(ctx, &taskapi.ConnectRequest{ID: id})
		if err != nil || int(cn.ShimPid) != h.pid {
			t.Errorf("connect %s: %v %v, want shim pid %d", id, cn, err, h.pid)
		}
	}

	h.task.Kill(ctx, &taskapi.KillRequest{ID: "sandbox", Signal: uint32(unix.SIGKILL)})
	h.wait("sandbox", "")
	h.delete("sandbox")
	if _, err := h.task.Shutdown(ctx, &taskapi.ShutdownRequest{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if st := h.taskState("app", ""); st.Status != tasktypes.Status_RUNNING {
		t.Errorf("app after the sandbox's delete and a Shutdown: %v", st)
	}
	h.task.Kill(ctx, &taskapi.KillRequest{ID: "app", Signal: uint32(unix.SIGKILL)})
	h.wait("app", "")
	h.delete("app")
	if _, err := h.task.Shutdown(ctx, &taskapi.ShutdownRequest{}); err != nil {
		t.Fatal(err)
	}
	if !h.shimGone(5 * time.Second) {
		t.Error("shim still running after the last container was deleted and Shutdown")
	}
}

func nsFile(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	}
	return string(t)
}

// TestShimLogURIs: binary:// starts the logging binary with the process's
// stdout and stderr on fds 3 and 4 and waits for its ready signal on fd 5;
// file:// appends to the file.
func TestShimLogURIs(t *testing.T) {
	h := newHarness(t, "logs")
	logs := t.TempDir()
	script := filepath.Join(logs, "logger.sh")
	// Arguments: "dir" <dir> from the query; LOGTAG from env.LOGTAG.
	os.WriteFile(script, []byte(`#!/bin/sh
d="$2"
/bin/cat <&3 >"$d/stdout" &
/bin/cat <&4 >"$d/stderr" &
echo "$CONTAINER_ID $CONTAINER_NAMESPACE $LOGTAG $1" >"$d/env"
echo ready >&5
exec 5>&- 3<&- 4<&-
wait
echo done >"$d/done"
`), 0o755)
	uri := "binary://" + script + "?dir=" + logs + "&env.LOGTAG=tag1"
	h.create("c1", h.bundle(nil, "sh", "-c", "echo to-out; echo to-err >&2"), &taskapi.CreateTaskRequest{Stdout: uri, Stderr: uri})
	if b, err := os.ReadFile(filepath.Join(logs, "env")); err != nil || string(b) != "c1 slrt-test tag1 dir\n" {
		t.Errorf("logger environment %q %v: was it ready before create returned?", b, err)
	}
	h.startTask("c1", "")
	if c := h.wait("c1", ""); c != 0 {
		t.Errorf("exit %d", c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(logs, "done")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("logger did not finish after the process exited")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for f, want := range map[string]string{"stdout": "to-out\n", "stderr": "to-err\n"} {
		if b, _ := os.ReadFile(filepath.Join(logs, f)); string(b) != want {
			t.Errorf("logger %s: %q, want %q", f, b, want)
		}
	}
	h.delete("c1")

	// A logging binary that is not there: create fails, nothing left.
	missing := "binary://" + filepath.Join(logs, "missing")
	h.start("c3", h.bundle(nil, "true"))
	if _, err := h.task.Create(context.Background(), &taskapi.CreateTaskRequest{ID: "c3", Bundle: h.bundle(nil, "true"), Stdout: missing, Stderr: missing}); err == nil {
		t.Error("create with a missing logging binary succeeded")
	}

	file := filepath.Join(logs, "file.log")
	os.WriteFile(file, []byte("before\n"), 0o600)
	h.create("c2", h.bundle(nil, "sh", "-c", "echo to-file; echo err-to-file >&2"),
		&taskapi.CreateTaskRequest{Stdout: "file://" + file, Stderr: "file://" + file})
	h.startTask("c2", "")
	h.wait("c2", "")
	if b, _ := os.ReadFile(file); string(b) != "before\nto-file\nerr-to-file\n" {
		t.Errorf("file log %q", b)
	}
	h.delete("c2")
}
