package shim_test

import (
	"context"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"

	taskapi "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
)

// TestShimQuickExit: a container whose command ends at once, killed right
// after its start (what containerd's CRI does when RemoveContainer races
// the exit): the kill succeeds or says NotFound ("process already
// finished"), never FailedPrecondition, which containerd's CRI treats as a
// failure to stop; the start event comes before the exit event; and the
// task is deletable.
func TestShimQuickExit(t *testing.T) {
	h := newHarness(t, "quick")
	for _, id := range []string{"q1", "q2", "q3"} {
		h.create(id, h.bundle(nil, "true"), nil)
		h.startTask(id, "")
		_, err := h.task.Kill(context.Background(), &taskapi.KillRequest{ID: id, Signal: uint32(syscall.SIGKILL)})
		if err != nil && code(err) != codes.NotFound {
			t.Errorf("%s: kill right after start: %v (code %v), want success or NotFound", id, err, code(err))
		}
		if c := h.wait(id, ""); c != 0 && c != 137 {
			t.Errorf("%s: exit code %d, want 0 (or 137 when the kill came first)", id, c)
		}
		got := h.waitEvents("start "+id, "exit "+id+" "+id)
		if index(got, "start "+id) > index(got, "exit "+id+" "+id) {
			t.Errorf("%s: exit before start in %q", id, got)
		}
		h.delete(id)
	}
}

// TestShimConcurrentDelete: two Deletes of the same exited init at once
// (containerd's sandbox exit monitor and a failed RunPodSandbox's cleanup
// do this) both succeed with the same exit status; the shim's idle exit
// waits for both. A later Delete says NotFound.
func TestShimConcurrentDelete(t *testing.T) {
	h := newHarness(t, "condel")
	h.create("d1", h.bundle(nil, "sh", "-c", "exit 3"), nil)
	h.startTask("d1", "")
	if c := h.wait("d1", ""); c != 3 {
		t.Fatalf("exit code %d, want 3", c)
	}
	type result struct {
		res *taskapi.DeleteResponse
		err error
	}
	results := make(chan result, 2)
	for i := 0; i < 2; i++ {
		go func() {
			res, err := h.task.Delete(context.Background(), &taskapi.DeleteRequest{ID: "d1"})
			results <- result{res, err}
		}()
	}
	for i := 0; i < 2; i++ {
		r := <-results
		if r.err != nil {
			t.Errorf("concurrent delete %d: %v (code %v), want success", i, r.err, code(r.err))
		} else if r.res.ExitStatus != 3 {
			t.Errorf("concurrent delete %d: exit status %d, want 3", i, r.res.ExitStatus)
		}
	}
	h.mu.Lock()
	h.created = nil
	h.mu.Unlock()
	if _, err := h.task.Delete(context.Background(), &taskapi.DeleteRequest{ID: "d1"}); code(err) != codes.NotFound {
		t.Errorf("delete after delete: %v, want NotFound", err)
	}
}
