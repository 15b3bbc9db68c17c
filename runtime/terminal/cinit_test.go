package terminal

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slrt/slrt/internal/cdriver"

	"golang.org/x/sys/unix"
)

// buildCConsole compiles the C init's console step (cmd/slrt-init
// console.c) with its test driver, test/console.c.
func buildCConsole(t *testing.T) string {
	t.Helper()
	return cdriver.Build(t, t.TempDir(), "console", "console.c", "procfs.c", "err.c")
}

// recvExact receives the init's console message and checks it is byte
// for byte what runc's SendFile produces and go-runc's receiver insists
// on: payload "/dev/ptmx", one SCM_RIGHTS message with one fd, a master.
func recvExact(t *testing.T, sock *os.File) *os.File {
	t.Helper()
	buf := make([]byte, maxNameLen)
	oob := make([]byte, 256) // room for more than one fd: prove there is only one
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != MasterName {
		t.Errorf("payload = %q, want %q", got, MasterName)
	}
	if oobn != unix.CmsgSpace(4) {
		t.Fatalf("control length = %d, want %d (exactly one fd)", oobn, unix.CmsgSpace(4))
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 || msgs[0].Header.Level != unix.SOL_SOCKET || msgs[0].Header.Type != unix.SCM_RIGHTS {
		t.Fatalf("control messages = %+v, %v; want one SCM_RIGHTS", msgs, err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("fds = %v, %v; want one", fds, err)
	}
	master := os.NewFile(uintptr(fds[0]), string(buf[:n]))
	// TIOCGPTN only works on a master.
	if _, err := unix.IoctlGetUint32(fds[0], unix.TIOCGPTN); err != nil {
		t.Errorf("received fd is not a pty master: %v", err)
	}
	return master
}

// TestCConsole: the C init allocates a pty, sends its master over the
// console socket in runc's format, sized before it leaves, and makes the
// slave its stdio and controlling terminal, as runc's init does.
func TestCConsole(t *testing.T) {
	if _, err := os.Stat(MasterName); err != nil {
		t.Skipf("no %s: %v", MasterName, err)
	}
	bin := buildCConsole(t)
	for _, tt := range []struct {
		name       string
		rows, cols int
		want       string
	}{
		{"sized", 40, 132, "size 40 132"},
		{"unsized keeps the kernel default", 0, 0, "size 0 0"},
		{"half a size is ignored", 0, 80, "size 0 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			send, recv := socketpair(t)
			cmd := exec.Command(bin, fmt.Sprint(tt.rows), fmt.Sprint(tt.cols))
			cmd.ExtraFiles = []*os.File{send}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			send.Close()
			master := recvExact(t, recv)
			defer master.Close()

			line := make(chan string, 1)
			go func() {
				s, _ := bufio.NewReader(master).ReadString('\n')
				line <- strings.TrimRight(s, "\r\n")
			}()
			var got string
			select {
			case got = <-line:
			case <-time.After(10 * time.Second):
				t.Fatalf("no report on the pty; stderr: %s", stderr.String())
			}
			if want := tt.want + " leader 1 ctty 1 inherit 1"; got != want {
				t.Errorf("report %q, want %q", got, want)
			}
			if _, err := master.Write([]byte("\n")); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("driver: %v; stderr: %s", err, stderr.String())
			}
		})
	}
}

// TestCConsoleErrors: a console "socket" that is no socket fails the step
// with a message naming what was tried.
func TestCConsoleErrors(t *testing.T) {
	if _, err := os.Stat(MasterName); err != nil {
		t.Skipf("no %s: %v", MasterName, err)
	}
	bin := buildCConsole(t)
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd := exec.Command(bin, "24", "80")
	cmd.ExtraFiles = []*os.File{null}
	out, err := cmd.CombinedOutput()
	if want := "send pty master over console socket: socket operation on non-socket"; err == nil || !strings.Contains(string(out), want) {
		t.Errorf("with /dev/null as the console socket: %v, %q; want %q", err, out, want)
	}
}
