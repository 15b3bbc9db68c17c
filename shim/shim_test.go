// Package shim_test drives the built containerd-shim-slrt-v2 the way
// containerd does: start, ttrpc calls, shutdown, delete.
package shim_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/slrt/slrt/internal/testutil"
	bootstrapapi "github.com/slrt/slrt/shim/internal/api/runtime/bootstrap/v1"
	v2 "github.com/slrt/slrt/shim/internal/api/runtime/task/v2"
	taskapi "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
	eventsapi "github.com/slrt/slrt/shim/internal/api/services/ttrpc/events/v1"
	"github.com/slrt/slrt/shim/internal/api/types"
	tasktypes "github.com/slrt/slrt/shim/internal/api/types/task"
)

// shimBinary is $SLRT_SHIM_BIN (make test) or a build made once for all
// the tests of this package (TestMain removes it).
func shimBinary(t *testing.T) string {
	if b := os.Getenv("SLRT_SHIM_BIN"); b != "" {
		return b
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "slrt-shim-test")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		bin := filepath.Join(dir, "containerd-shim-slrt-v2")
		if out, err := exec.Command("go", "build", "-o", bin, "../cmd/containerd-shim-slrt-v2").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("build shim: %v\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

var built struct {
	once     sync.Once
	dir, bin string
	err      error

	slrtOnce sync.Once // slrt, for the FGAC agent (fgac_test.go)
	slrtErr  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// eventsRecorder is containerd's side of the events service.
type eventsRecorder struct {
	mu        sync.Mutex
	topics    []string
	ns        []string
	envelopes []*types.Envelope
}

func (e *eventsRecorder) Forward(ctx context.Context, r *eventsapi.ForwardRequest) (*emptypb.Empty, error) {
	md, _ := ttrpc.GetMetadata(ctx)
	e.mu.Lock()
	e.topics = append(e.topics, r.Envelope.Topic)
	e.envelopes = append(e.envelopes, r.Envelope)
	v, _ := md.Get("containerd-namespace-ttrpc")
	e.ns = append(e.ns, v...)
	e.mu.Unlock()
	return &emptypb.Empty{}, nil
}

func (e *eventsRecorder) seen() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.topics...)
}

func serveEvents(t *testing.T, path string) *eventsRecorder {
	rec := &eventsRecorder{}
	srv, err := ttrpc.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	eventsapi.RegisterTTRPCEventsService(srv, rec)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(context.Background(), l)
	t.Cleanup(func() { srv.Close() })
	return rec
}

// start runs `<shim> start` as containerd does: cwd is the bundle, stdin
// what that containerd version writes, stdout+stderr read together.
func start(t *testing.T, bin, bundle, id string, stdin []byte, env ...string) []byte {
	cmd := exec.Command(bin, "-namespace", "slrt-test", "-id", id, "-address", "/run/test-containerd.sock",
		"-publish-binary", "/bin/false", "start")
	cmd.Dir = bundle
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done: // returns only when the daemon did not keep stdout open
	case <-time.After(10 * time.Second):
		t.Fatal("start did not return: the daemon holds its stdout?")
	}
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	return out
}

func TestShimLifecycle(t *testing.T) {
	testutil.RequireRoot(t)
	bin := shimBinary(t)
	state := testutil.StateRoot(t)
	testutil.Leaks(t, state)

	dir := testutil.StateRoot(t) // short paths: sockets
	rec := serveEvents(t, filepath.Join(dir, "ev.sock"))
	bundle := testutil.Bundle(t, "sh", "-c", "echo hello from the shim; exit 3")
	spec := testutil.ReadSpec(t, bundle)
	spec.Annotations = map[string]string{"io.kubernetes.cri.sandbox-id": "pod1"}
	testutil.WriteSpec(t, bundle, spec)
	// The rootfs comes from "containerd" as an overlay mount on an
	// empty bundle/rootfs, as a snapshotter gives it.
	lower := filepath.Join(bundle, "lower")
	if err := os.Rename(filepath.Join(bundle, "rootfs"), lower); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"rootfs", "upper", "work"} {
		os.Mkdir(filepath.Join(bundle, d), 0o755)
	}
	socketDir := filepath.Join(dir, "s")
	params, _ := proto.Marshal(&bootstrapapi.BootstrapParams{InstanceID: "c1", Namespace: "slrt-test", SocketDir: &socketDir})
	env := []string{"TTRPC_ADDRESS=" + filepath.Join(dir, "ev.sock"), "SLRT_SHIM_ROOT=" + state}

	out := start(t, bin, bundle, "c1", params, env...)
	var res bootstrapapi.BootstrapResult
	if err := proto.Unmarshal(out, &res); err != nil || res.Version != 3 || res.Protocol != "ttrpc" {
		t.Fatalf("start reply %q: %v", out, err)
	}
	// A start for another container of the same pod finds the running
	// daemon.
	params2, _ := proto.Marshal(&bootstrapapi.BootstrapParams{InstanceID: "c2", Namespace: "slrt-test", SocketDir: &socketDir})
	var res2 bootstrapapi.BootstrapResult
	if out2 := start(t, bin, bundle, "c2", params2, env...); proto.Unmarshal(out2, &res2) != nil || res2.Address != res.Address {
		t.Fatalf("second start of the pod: %q, want %s", res2.Address, res.Address)
	}

	conn, err := net.Dial("unix", res.Address[len("unix://"):])
	if err != nil {
		t.Fatal(err)
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	task := taskapi.NewTTRPCTaskClient(client)
	ctx := context.Background()

	stdout := filepath.Join(dir, "stdout")
	if err := syscall.Mkfifo(stdout, 0o600); err != nil {
		t.Fatal(err)
	}
	outCh := make(chan []byte, 1)
	go func() {
		f, err := os.Open(stdout)
		if err != nil {
			outCh <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		outCh <- b
	}()
	cr, err := task.Create(ctx, &taskapi.CreateTaskRequest{ID: "c1", Bundle: bundle, Stdout: stdout, Rootfs: []*types.Mount{{
		Type: "overlay", Source: "overlay",
		Options: []string{"lowerdir=" + lower, "upperdir=" + filepath.Join(bundle, "upper"), "workdir=" + filepath.Join(bundle, "work")},
	}}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	st, err := v2.NewTTRPCTaskClient(client).State(ctx, &v2.StateRequest{ID: "c1"})
	if err != nil || st.Status != tasktypes.Status_CREATED || st.Pid != cr.Pid {
		t.Fatalf("state over task v2: %v %v", st, err)
	}
	if _, err := task.Create(ctx, &taskapi.CreateTaskRequest{ID: "c1", Bundle: bundle}); err == nil {
		t.Fatal("second create of c1 succeeded")
	}
	if _, err := task.Start(ctx, &taskapi.StartRequest{ID: "c1"}); err != nil {
		t.Fatalf("start: %v", err)
	}
	wr, err := task.Wait(ctx, &taskapi.WaitRequest{ID: "c1"})
	if err != nil || wr.ExitStatus != 3 {
		t.Fatalf("wait: %v %v", wr, err)
	}
	if got := <-outCh; !bytes.Contains(got, []byte("hello from the shim")) {
		t.Fatalf("stdout %q", got)
	}
	dr, err := task.Delete(ctx, &taskapi.DeleteRequest{ID: "c1"})
	if err != nil || dr.ExitStatus != 3 {
		t.Fatalf("delete: %v %v", dr, err)
	}
	if _, err := task.State(ctx, &taskapi.StateRequest{ID: "c1"}); err == nil {
		t.Fatal("state of a deleted task succeeded")
	}
	cn, err := task.Connect(ctx, &taskapi.ConnectRequest{ID: "c1"})
	_ = cn
	if err == nil {
		t.Fatal("connect to a deleted task succeeded")
	}
	if _, err := task.Shutdown(ctx, &taskapi.ShutdownRequest{ID: "c1"}); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// The daemon goes away and removes its socket.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(res.Address[len("unix://"):]); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("shim socket still there after shutdown")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// containerd runs delete after the shim is gone.
	cmd := exec.Command(bin, "-namespace", "slrt-test", "-id", "c1", "-address", "/run/test-containerd.sock", "delete")
	cmd.Dir, cmd.Env = bundle, append(os.Environ(), env...)
	b, err := cmd.Output()
	var del taskapi.DeleteResponse
	if err != nil || proto.Unmarshal(b, &del) != nil || del.ExitedAt == nil {
		t.Fatalf("delete command: %v %q", err, b)
	}

	want := []string{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"}
	deadline = time.Now().Add(5 * time.Second)
	for len(rec.seen()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := rec.seen(); !equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	for _, ns := range rec.ns {
		if ns != "slrt-test" {
			t.Errorf("event namespace header %q", ns)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
