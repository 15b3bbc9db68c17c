package channel

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
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

// recvInC runs the C init's receive (wire_recv, through test/decode.c) on
// sock as its fd 3, after send has written to the other end, and returns
// what it printed.
func recvInC(t *testing.T, bin string, sock int, send func()) string {
	t.Helper()
	send()
	d, err := unix.Dup(sock)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(d), "sync")
	defer f.Close()
	cmd := exec.Command(bin, "recv")
	cmd.ExtraFiles = []*os.File{f}
	out, _ := cmd.Output()
	return string(out)
}

// TestSendFilesToInit passes 0 to MaxFiles fds with a plan, as the parent
// gives a shell its stdio, and checks the init's receiver gets each as the
// same open file, in order, and keeps no other.
func TestSendFilesToInit(t *testing.T) {
	bin := buildCDecoder(t)
	for _, n := range []int{0, 1, 3, 7, MaxFiles} {
		a, b := pair(t)
		var sent []int
		var want strings.Builder
		for i := 0; i < n; i++ {
			f, err := os.CreateTemp(t.TempDir(), "f")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sent = append(sent, int(f.Fd()))
			var st unix.Stat_t
			if err := unix.Fstat(int(f.Fd()), &st); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&want, "fd %d:%d\n", st.Dev, st.Ino)
		}
		want.WriteString("kept 0\n")
		got := recvInC(t, bin, b, func() {
			if err := SendFiles(a, &Message{Kind: KindPlan, Plan: &Plan{Hostname: "x"}}, sent); err != nil {
				t.Fatalf("%d fds: send: %v", n, err)
			}
		})
		if got != want.String() {
			t.Errorf("%d fds: the init received\n%s\nwant\n%s", n, got, want.String())
		}
	}
}

// TestInitRecvRefuses covers what the init's receiver must refuse without
// keeping any fd: a count that does not match, a message that is not one,
// and a closed peer.
func TestInitRecvRefuses(t *testing.T) {
	bin := buildCDecoder(t)
	t.Run("too many to send", func(t *testing.T) {
		a, _ := pair(t)
		err := SendFiles(a, &Message{Kind: KindPlan}, make([]int, MaxFiles+1))
		if err == nil {
			t.Fatal("send of too many fds succeeded")
		}
	})
	for _, tt := range []struct {
		name  string
		files int
		fds   []int
		raw   []byte
		want  string
	}{
		{name: "fewer fds than announced", files: 2, fds: []int{0}, want: "receive plan message: 1 fds arrived, 2 were sent"},
		{name: "more fds than announced", files: 1, fds: []int{0, 1}, want: "receive plan message: 2 fds arrived, 1 were sent"},
		{name: "not a message", fds: []int{0}, raw: []byte(`{"kind":"plan","files":1}`), want: "decode message: magic"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pair(t)
			got := recvInC(t, bin, b, func() {
				msg := tt.raw
				if msg == nil {
					var err error
					if msg, err = (&Message{Kind: KindPlan, Files: tt.files}).encode(); err != nil {
						t.Fatal(err)
					}
				}
				if err := unix.Sendmsg(a, msg, unix.UnixRights(tt.fds...), nil, 0); err != nil {
					t.Fatal(err)
				}
			})
			if !strings.Contains(got, tt.want) || !strings.HasSuffix(got, "kept 0\n") {
				t.Fatalf("the init printed\n%s\nwant an error with %q and no fd kept", got, tt.want)
			}
		})
	}
	t.Run("eof", func(t *testing.T) {
		a, b := pair(t)
		got := recvInC(t, bin, b, func() { unix.Shutdown(a, unix.SHUT_WR) })
		if got != "error: EOF\nkept 0\n" {
			t.Fatalf("the init printed %q, want EOF", got)
		}
	})
}
