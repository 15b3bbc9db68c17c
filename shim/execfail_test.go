package shim_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"

	taskapi "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
	tasktypes "github.com/slrt/slrt/shim/internal/api/types/task"
)

// TestShimExecStartFails: an exec whose binary is missing fails Start,
// and then behaves as a process that is over: Wait returns at once (with
// containerd's unknown exit status, 255), a signal finds nothing to kill,
// a second Start is refused and Delete removes it. containerd 1.6 deletes
// such an exec by kill-and-wait, which used to hang until its timeout.
func TestShimExecStartFails(t *testing.T) {
	h := newHarness(t, "execfail")
	ctx := context.Background()
	h.create("c1", h.bundle(nil, "sleep", "100"), nil)
	h.startTask("c1", "")

	if _, err := h.task.Exec(ctx, &taskapi.ExecProcessRequest{ID: "c1", ExecID: "bad",
		Spec: processAny(t, execProcess("/no/such/binary"))}); err != nil {
		t.Fatalf("exec: %v", err)
	}
	if _, err := h.task.Start(ctx, &taskapi.StartRequest{ID: "c1", ExecID: "bad"}); err == nil {
		t.Fatal("start of a missing binary succeeded")
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := h.task.Wait(wctx, &taskapi.WaitRequest{ID: "c1", ExecID: "bad"})
	if err != nil || res.ExitStatus != 255 {
		t.Errorf("wait on the failed exec: %v %v, want exit 255 at once", res, err)
	}
	if st := h.taskState("c1", "bad"); st.Status != tasktypes.Status_STOPPED {
		t.Errorf("state of the failed exec: %v", st)
	}
	if _, err := h.task.Kill(ctx, &taskapi.KillRequest{ID: "c1", ExecID: "bad", Signal: uint32(unix.SIGKILL)}); code(err) != codes.NotFound {
		t.Errorf("kill of the failed exec: %v, want NotFound", err)
	}
	if _, err := h.task.Start(ctx, &taskapi.StartRequest{ID: "c1", ExecID: "bad"}); code(err) != codes.FailedPrecondition {
		t.Errorf("second start of the failed exec: %v, want FailedPrecondition", err)
	}
	if _, err := h.task.Delete(ctx, &taskapi.DeleteRequest{ID: "c1", ExecID: "bad"}); err != nil {
		t.Errorf("delete of the failed exec: %v", err)
	}
	// The container is unharmed: a good exec runs.
	if _, err := h.task.Exec(ctx, &taskapi.ExecProcessRequest{ID: "c1", ExecID: "good",
		Spec: processAny(t, execProcess("true"))}); err != nil {
		t.Fatalf("exec: %v", err)
	}
	h.startTask("c1", "good")
	if c := h.wait("c1", "good"); c != 0 {
		t.Errorf("good exec: exit %d", c)
	}
	if _, err := h.task.Kill(ctx, &taskapi.KillRequest{ID: "c1", Signal: uint32(unix.SIGKILL)}); err != nil {
		t.Fatal(err)
	}
	h.wait("c1", "")
	h.delete("c1")
}
