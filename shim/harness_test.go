package shim_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/slrt/slrt/internal/testutil"
	eventtypes "github.com/slrt/slrt/shim/internal/api/events"
	bootstrapapi "github.com/slrt/slrt/shim/internal/api/runtime/bootstrap/v1"
	taskapi "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
)

// harness is containerd's side of one pod's shim: it starts the built
// binary, talks task API v3 to it, records the events it publishes, and
// when the test ends deletes what is left, shuts the shim down and checks
// that nothing leaked (mounts, cgroups, fds, state).
type harness struct {
	t     *testing.T
	bin   string
	state string // engine state root (SLRT_SHIM_ROOT)
	dir   string // sockets and fifos: short paths
	rec   *eventsRecorder
	env   []string
	pod   string

	task   taskapi.TTRPCTaskService
	client *ttrpc.Client
	addr   string
	pid    int // the shim daemon

	mu      sync.Mutex
	created []string
}

func newHarness(t *testing.T, pod string) *harness {
	testutil.RequireRoot(t)
	h := &harness{t: t, bin: shimBinary(t), pod: pod}
	h.state = testutil.StateRoot(t)
	testutil.Leaks(t, h.state)
	h.dir = testutil.StateRoot(t)
	h.rec = serveEvents(t, filepath.Join(h.dir, "ev.sock"))
	h.env = []string{"TTRPC_ADDRESS=" + filepath.Join(h.dir, "ev.sock"), "SLRT_SHIM_ROOT=" + h.state}
	t.Cleanup(h.cleanup)
	return h
}

// bundle makes a bundle of the pod running args; edit may change its spec.
func (h *harness) bundle(edit func(*specs.Spec), args ...string) string {
	b := testutil.Bundle(h.t, args...)
	s := testutil.ReadSpec(h.t, b)
	s.Annotations = map[string]string{"io.kubernetes.cri.sandbox-id": h.pod}
	if edit != nil {
		edit(s)
	}
	testutil.WriteSpec(h.t, b, s)
	return b
}

// start runs `<shim> start` for container id (as containerd does before
// each Create) and connects on the first call.
func (h *harness) start(id, bundle string) string {
	socketDir := filepath.Join(h.dir, "s")
	params, _ := proto.Marshal(&bootstrapapi.BootstrapParams{InstanceID: id, Namespace: "slrt-test", SocketDir: &socketDir})
	out := start(h.t, h.bin, bundle, id, params, h.env...)
	var res bootstrapapi.BootstrapResult
	if err := proto.Unmarshal(out, &res); err != nil {
		h.t.Fatalf("start reply %q: %v", out, err)
	}
	if h.client == nil {
		conn, err := net.Dial("unix", strings.TrimPrefix(res.Address, "unix://"))
		if err != nil {
			h.t.Fatal(err)
		}
		h.addr = res.Address
		h.client = ttrpc.NewClient(conn)
		h.task = taskapi.NewTTRPCTaskClient(h.client)
	}
	return res.Address
}

// create starts the shim if needed and creates container id from bundle;
// r fills in the rest of the request (stdio).
func (h *harness) create(id, bundle string, r *taskapi.CreateTaskRequest) *taskapi.CreateTaskResponse {
	h.t.Helper()
	h.start(id, bundle)
	if r == nil {
		r = &taskapi.CreateTaskRequest{}
	}
	r.ID, r.Bundle = id, bundle
	res, err := h.task.Create(context.Background(), r)
	if err != nil {
		h.t.Fatalf("create %s: %v", id, err)
	}
	h.mu.Lock()
	h.created = append(h.created, id)
	h.mu.Unlock()
	if h.pid == 0 {
		// The daemon's pid (the socket's peer is the start process that
		// bound it).
		cn, err := h.task.Connect(context.Background(), &taskapi.ConnectRequest{ID: id})
		if err != nil {
			h.t.Fatalf("connect %s: %v", id, err)
		}
		h.pid = int(cn.ShimPid)
	}
	return res
}

func (h *harness) startTask(id, execID string) uint32 {
	h.t.Helper()
	res, err := h.task.Start(context.Background(), &taskapi.StartRequest{ID: id, ExecID: execID})
	if err != nil {
		h.t.Fatalf("start %s %s: %v", id, execID, err)
	}
	return res.Pid
}

// wait waits (bounded) for a process's exit code.
func (h *harness) wait(id, execID string) uint32 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := h.task.Wait(ctx, &taskapi.WaitRequest{ID: id, ExecID: execID})
	if err != nil {
		h.t.Fatalf("wait %s %s: %v", id, execID, err)
	}
	return res.ExitStatus
}

func (h *harness) taskState(id, execID string) *taskapi.StateResponse {
	h.t.Helper()
	st, err := h.task.State(context.Background(), &taskapi.StateRequest{ID: id, ExecID: execID})
	if err != nil {
		h.t.Fatalf("state %s %s: %v", id, execID, err)
	}
	return st
}

func (h *harness) delete(id string) *taskapi.DeleteResponse {
	h.t.Helper()
	res, err := h.task.Delete(context.Background(), &taskapi.DeleteRequest{ID: id})
	if err != nil {
		h.t.Fatalf("delete %s: %v", id, err)
	}
	h.mu.Lock()
	for i, c := range h.created {
		if c == id {
			h.created = append(h.created[:i], h.created[i+1:]...)
			break
		}
	}
	h.mu.Unlock()
	return res
}

// shimGone waits until the shim daemon has exited.
func (h *harness) shimGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(h.pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", h.pid)); err == nil && bytes.Contains(b, []byte(") Z ")) {
			return true // a zombie of whoever adopted it
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// cleanup kills and deletes the containers left, then shuts the shim down.
func (h *harness) cleanup() {
	if h.client == nil {
		return
	}
	defer h.client.Close()
	ctx := context.Background()
	h.mu.Lock()
	left := append([]string(nil), h.created...)
	h.mu.Unlock()
	for _, id := range left {
		h.task.Kill(ctx, &taskapi.KillRequest{ID: id, Signal: uint32(unix.SIGKILL), All: true})
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		h.task.Wait(wctx, &taskapi.WaitRequest{ID: id})
		cancel()
		if _, err := h.task.Delete(ctx, &taskapi.DeleteRequest{ID: id}); err != nil {
			h.t.Errorf("cleanup: delete %s: %v", id, err)
		}
	}
	h.task.Shutdown(ctx, &taskapi.ShutdownRequest{Now: true})
	if h.pid == 0 {
		return
	}
	if !h.shimGone(10 * time.Second) {
		h.t.Errorf("shim %d still running after shutdown; killing it", h.pid)
		syscall.Kill(h.pid, syscall.SIGKILL)
	}

}

// event is an event in a form tests compare: "topic container [id]".
func (h *harness) events() []string {
	h.rec.mu.Lock()
	envs := append(h.rec.envelopes[:0:0], h.rec.envelopes...)
	h.rec.mu.Unlock()
	var out []string
	for _, e := range envs {
		out = append(out, describe(e.Topic, e.Event.GetValue()))
	}
	return out
}

func describe(topic string, b []byte) string {
	name := strings.TrimPrefix(topic, "/tasks/")
	var m interface {
		proto.Message
		GetContainerID() string
	}
	id := func() string { return "" }
	switch topic {
	case "/tasks/create":
		m = &eventtypes.TaskCreate{}
	case "/tasks/start":
		m = &eventtypes.TaskStart{}
	case "/tasks/delete":
		m = &eventtypes.TaskDelete{}
	case "/tasks/oom":
		m = &eventtypes.TaskOOM{}
	case "/tasks/paused":
		m = &eventtypes.TaskPaused{}
	case "/tasks/resumed":
		m = &eventtypes.TaskResumed{}
	case "/tasks/exit":
		e := &eventtypes.TaskExit{}
		m, id = e, e.GetID
	case "/tasks/exec-added":
		e := &eventtypes.TaskExecAdded{}
		m, id = e, e.GetExecID
	case "/tasks/exec-started":
		e := &eventtypes.TaskExecStarted{}
		m, id = e, e.GetExecID
	default:
		return name
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return name + " (undecodable)"
	}
	s := name + " " + m.GetContainerID()
	if v := id(); v != "" {
		s += " " + v
	}
	return s
}

// waitEvents waits until the events include every one of want (in any
// order) and returns them all.
func (h *harness) waitEvents(want ...string) []string {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := h.events()
		missing := ""
		for _, w := range want {
			if index(got, w) < 0 {
				missing = w
				break
			}
		}
		if missing == "" {
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no event %q in %q", missing, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// before checks that event a was published before event b.
func before(t *testing.T, events []string, a, b string) {
	t.Helper()
	ia, ib := index(events, a), index(events, b)
	if ia < 0 || ib < 0 || ia > ib {
		t.Errorf("want %q before %q in %q", a, b, events)
	}
}

// stream is a fifo containerd reads a process's output from.
type stream struct {
	path string
	mu   sync.Mutex
	buf  bytes.Buffer
	eof  chan struct{}
}

// output makes a fifo and reads it until every writer has closed it.
func (h *harness) output(name string) *stream {
	s := &stream{path: filepath.Join(h.dir, name), eof: make(chan struct{})}
	if err := syscall.Mkfifo(s.path, 0o600); err != nil {
		h.t.Fatal(err)
	}
	go func() {
		defer close(s.eof)
		f, err := os.Open(s.path)
		if err != nil {
			return
		}
		defer f.Close()
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			s.mu.Lock()
			s.buf.Write(b[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	h.t.Cleanup(func() {
		// Unblock a reader still waiting in open for a writer.
		if fd, err := unix.Open(s.path, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			unix.Close(fd)
		}
		<-s.eof
	})
	return s
}

func (s *stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the output contains want.
func (s *stream) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q in %q", filepath.Base(s.path), want, s.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// all waits for end of file and returns everything read.
func (s *stream) all(t *testing.T) string {
	t.Helper()
	select {
	case <-s.eof:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no end of file; read %q", filepath.Base(s.path), s.String())
	}
	return s.String()
}
