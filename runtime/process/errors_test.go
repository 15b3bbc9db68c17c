package process

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// The init reports these when the machine says no; tests cannot count on
// being refused (CI runs as full root), so the messages are checked here
// with the errno injected.
func TestErrorMessages(t *testing.T) {
	tests := []struct {
		got  error
		want string
	}{
		{
			rlimitError(channel.Rlimit{Resource: unix.RLIMIT_CORE, Name: "RLIMIT_CORE", Soft: 10, Hard: unix.RLIM_INFINITY}, unix.EPERM),
			"setrlimit RLIMIT_CORE soft=10 hard=unlimited: operation not permitted (raising limits needs CAP_SYS_RESOURCE)",
		},
		{
			rlimitError(channel.Rlimit{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: 1, Hard: 2}, unix.EINVAL),
			"setrlimit RLIMIT_NOFILE soft=1 hard=2: invalid argument",
		},
		{
			oomError(-500, fmt.Errorf("open: %w", unix.EACCES)),
			"write -500 to /proc/self/oom_score_adj: open: permission denied (lowering oom_score_adj below its current minimum needs CAP_SYS_RESOURCE)",
		},
	}
	for _, tt := range tests {
		if tt.got.Error() != tt.want {
			t.Errorf("got  %q\nwant %q", tt.got, tt.want)
		}
	}
	if !errors.Is(rlimitError(channel.Rlimit{}, unix.EPERM), unix.EPERM) {
		t.Error("rlimitError does not wrap the errno")
	}
}
