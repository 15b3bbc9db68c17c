package shim_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/slrt/slrt/internal/testutil"
	taskapi "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
	"github.com/slrt/slrt/shim/internal/api/types"
)

// shimView is what a failed request must leave unchanged on the shim's
// side: the daemon's open fds and child processes, and the entries of its
// state root. The test process's own mounts, cgroups, fds and children are
// checked by testutil.Leaks (the shim shares its mount namespace).
type shimView struct {
	fds, children, state []string
}

func (h *harness) view() shimView {
	h.t.Helper()
	var v shimView
	dir := fmt.Sprintf("/proc/%d/fd", h.pid)
	names, err := os.ReadDir(dir)
	if err != nil {
		h.t.Fatalf("shim fds: %v", err)
	}
	for _, n := range names {
		if target, err := os.Readlink(filepath.Join(dir, n.Name())); err == nil {
			v.fds = append(v.fds, n.Name()+" -> "+target)
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(h.pid) {
			v.children = append(v.children, p.Name()+" "+s[strings.IndexByte(s, '(')+1:strings.LastIndexByte(s, ')')])
		}
	}
	entries, _ := os.ReadDir(h.state)
	for _, e := range entries {
		v.state = append(v.state, e.Name())
	}
	for _, l := range [][]string{v.fds, v.children, v.state} {
		sort.Strings(l)
	}
	return v
}

// sameAs reports, with t.Errorf, what v has that before had not.
func (v shimView) sameAs(t *testing.T, before shimView) {
	t.Helper()
	for _, c := range []struct {
		what      string
		was, left []string
	}{{"fd", before.fds, v.fds}, {"child process", before.children, v.children}, {"state entry", before.state, v.state}} {
		for _, x := range c.left {
			if index(c.was, x) < 0 {
				t.Errorf("left behind in the shim: %s %s", c.what, x)
			}
		}
	}
}

// TestShimBadInput: each bad request is answered with the containerd
// errdefs code containerd's errdefs.FromGRPC turns back into the right
// error (ErrInvalidArgument, ErrAlreadyExists, ErrNotFound), with a
// message naming what is wrong, and leaves nothing behind: no mount, no
// cgroup, no process, no fd, no state; a create with the same id succeeds
// afterwards (the id is not kept reserved). The shim keeps serving its
// running container throughout.
func TestShimBadInput(t *testing.T) {
	h := newHarness(t, "bad")
	ctx := context.Background()
	h.create("c1", h.bundle(nil, "sleep", "100"), nil)
	h.startTask("c1", "")
	if _, err := h.task.Exec(ctx, &taskapi.ExecProcessRequest{ID: "c1", ExecID: "e1", Spec: processAny(t, execProcess("true"))}); err != nil {
		t.Fatalf("exec e1: %v", err)
	}

	noConfig := func() string {
		b := h.bundle(nil, "true")
		if err := os.Remove(filepath.Join(b, "config.json")); err != nil {
			t.Fatal(err)
		}
		return b
	}
	// An overlay whose lowerdir is missing: the request's rootfs mount fails
	// after the shim made bundle/rootfs its mount point.
	missingLower := func() []*types.Mount {
		d := t.TempDir()
		for _, s := range []string{"upper", "work"} {
			os.Mkdir(filepath.Join(d, s), 0o755)
		}
		return []*types.Mount{{Type: "overlay", Source: "overlay", Options: []string{
			"lowerdir=" + filepath.Join(d, "missing"), "upperdir=" + filepath.Join(d, "upper"), "workdir=" + filepath.Join(d, "work")}}}
	}
	// A good bind mount followed by one that fails: the first is undone.
	secondFails := func() []*types.Mount {
		return []*types.Mount{
			{Type: "bind", Source: t.TempDir(), Options: []string{"rbind", "ro"}},
			{Type: "tmpfs", Source: "tmpfs", Options: []string{"size=nonsense"}},
		}
	}

	type call func() error
	create := func(id, bundle string, r *taskapi.CreateTaskRequest) call {
		return func() error {
			h.start(id, bundle)
			r.ID, r.Bundle = id, bundle
			_, err := h.task.Create(ctx, r)
			return err
		}
	}
	for _, tc := range []struct {
		name string
		call call
		code codes.Code
		msg  string // in the error's message
	}{
		{"unknown runtime options type", create("b1", h.bundle(nil, "true"), &taskapi.CreateTaskRequest{
			Options: &anypb.Any{TypeUrl: "example.com/other.runtime.v1.Options", Value: []byte{1, 2}}}),
			codes.InvalidArgument, `unknown runtime options type "example.com/other.runtime.v1.Options"`},
		{"runc options with a bad field", create("b2", h.bundle(nil, "true"), &taskapi.CreateTaskRequest{
			Options: &anypb.Any{TypeUrl: "containerd.runc.v1.Options", Value: []byte{0x08, 0xff}}}),
			codes.InvalidArgument, "decode runtime options"},
		{"runc options of the wrong wire type", create("b3", h.bundle(nil, "true"), &taskapi.CreateTaskRequest{
			Options: &anypb.Any{TypeUrl: "containerd.runc.v1.Options", Value: []byte{0x0a, 0x05, 'x'}}}),
			codes.InvalidArgument, "decode runtime options"},
		{"bundle without config.json", create("b4", noConfig(), &taskapi.CreateTaskRequest{}),
			codes.InvalidArgument, "config.json"},
		{"overlay with a missing lowerdir", create("b6", h.bundle(nil, "true"), &taskapi.CreateTaskRequest{Rootfs: missingLower()}),
			codes.InvalidArgument, "mount rootfs 0 (overlay overlay)"},
		{"second rootfs mount fails", create("b7", h.bundle(nil, "true"), &taskapi.CreateTaskRequest{Rootfs: secondFails()}),
			codes.InvalidArgument, "mount rootfs 1 (tmpfs tmpfs)"},
		{"container id that exists", create("c1", h.bundle(nil, "true"), &taskapi.CreateTaskRequest{}),
			codes.AlreadyExists, `container "c1"`},
		{"exec id that exists", func() error {
			_, err := h.task.Exec(ctx, &taskapi.ExecProcessRequest{ID: "c1", ExecID: "e1", Spec: processAny(t, execProcess("true"))})
			return err
		}, codes.AlreadyExists, `exec "e1"`},
		{"exec of an unknown container", func() error {
			_, err := h.task.Exec(ctx, &taskapi.ExecProcessRequest{ID: "nope", ExecID: "e9", Spec: processAny(t, execProcess("true"))})
			return err
		}, codes.NotFound, `container "nope"`},
		{"exec with a spec that is no process", func() error {
			_, err := h.task.Exec(ctx, &taskapi.ExecProcessRequest{ID: "c1", ExecID: "e9", Spec: &anypb.Any{Value: []byte("{")}})
			return err
		}, codes.InvalidArgument, `exec "e9"`},
		{"kill of an unknown exec", func() error {
			_, err := h.task.Kill(ctx, &taskapi.KillRequest{ID: "c1", ExecID: "nope", Signal: uint32(unix.SIGKILL)})
			return err
		}, codes.NotFound, `exec "nope"`},
		{"kill of an unknown container", func() error {
			_, err := h.task.Kill(ctx, &taskapi.KillRequest{ID: "nope", Signal: uint32(unix.SIGKILL), All: true})
			return err
		}, codes.NotFound, `container "nope"`},
		{"kill of an exec not started", func() error {
			_, err := h.task.Kill(ctx, &taskapi.KillRequest{ID: "c1", ExecID: "e1", Signal: uint32(unix.SIGKILL)})
			return err
		}, codes.NotFound, `"e1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.Leaks(t, "")
			before := h.view()
			err := tc.call()
			if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.msg) {
				t.Errorf("got %v (code %v), want code %v and a message with %q", err, status.Code(err), tc.code, tc.msg)
			}
			h.view().sameAs(t, before)
		})
	}

	// Nothing of the failed creates is kept: the ids are free again.
	for _, id := range []string{"b1", "b4", "b6", "b7"} {
		if _, err := h.task.State(ctx, &taskapi.StateRequest{ID: id}); status.Code(err) != codes.NotFound {
			t.Errorf("state of %s after its failed create: %v, want NotFound", id, err)
		}
	}
	h.create("b6", h.bundle(nil, "true"), nil)
	h.startTask("b6", "")
	if c := h.wait("b6", ""); c != 0 {
		t.Errorf("b6 after a failed create with the same id: exit %d", c)
	}
	h.delete("b6")
	if st := h.taskState("c1", ""); st.Status.String() != "RUNNING" {
		t.Errorf("c1 after the bad requests: %v", st)
	}
}
