package channel

import (
	"errors"
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func pair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// TestSendRecvFiles passes 0 to MaxFiles fds with a plan and checks each
// arrives as the same open file, close-on-exec, in order.
func TestSendRecvFiles(t *testing.T) {
	for _, n := range []int{0, 1, 3, 7, MaxFiles} {
		a, b := pair(t)
		var sent []int
		for i := 0; i < n; i++ {
			f, err := os.CreateTemp(t.TempDir(), "f")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sent = append(sent, int(f.Fd()))
		}
		m := &Message{Kind: KindPlan, Plan: &Plan{Hostname: "x"}}
		if err := SendFiles(a, m, sent); err != nil {
			t.Fatalf("%d fds: send: %v", n, err)
		}
		got, fds, err := RecvFiles(b)
		if err != nil {
			t.Fatalf("%d fds: recv: %v", n, err)
		}
		if got.Kind != KindPlan || got.Plan.Hostname != "x" || got.Files != n || len(fds) != n {
			t.Fatalf("%d fds: got kind %q files %d, %d fds", n, got.Kind, got.Files, len(fds))
		}
		for i, fd := range fds {
			var s1, s2 unix.Stat_t
			if err := unix.Fstat(sent[i], &s1); err != nil {
				t.Fatal(err)
			}
			if err := unix.Fstat(fd, &s2); err != nil {
				t.Fatal(err)
			}
			if s1.Ino != s2.Ino || s1.Dev != s2.Dev {
				t.Errorf("%d fds: fd %d is not the file sent as %d", n, i, i)
			}
			if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
				t.Errorf("%d fds: received fd %d is not close-on-exec", n, i)
			}
			unix.Close(fd)
		}
	}
}

// TestRecvFilesBad covers what a receiver must refuse without keeping any
// fd: a count that does not match, and a closed peer.
func TestRecvFilesBad(t *testing.T) {
	t.Run("too many", func(t *testing.T) {
		a, _ := pair(t)
		err := SendFiles(a, &Message{Kind: KindPlan}, make([]int, MaxFiles+1))
		if err == nil {
			t.Fatal("send of too many fds succeeded")
		}
	})
	t.Run("count mismatch", func(t *testing.T) {
		a, b := pair(t)
		before := countFDs(t)
		// A message claiming 2 fds but carrying one.
		if err := unix.Sendmsg(a, []byte(`{"kind":"plan","files":2}`), unix.UnixRights(0), nil, 0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := RecvFiles(b); err == nil {
			t.Fatal("mismatched fd count accepted")
		}
		if after := countFDs(t); after != before {
			t.Errorf("fds before %d, after %d: a received fd was kept", before, after)
		}
	})
	t.Run("eof", func(t *testing.T) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fds[1])
		unix.Close(fds[0])
		if _, _, err := RecvFiles(fds[1]); !errors.Is(err, io.EOF) {
			t.Fatalf("got %v, want EOF", err)
		}
	})
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
