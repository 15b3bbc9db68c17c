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
