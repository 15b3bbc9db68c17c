package terminal

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// socketpair returns the two ends of a connected SOCK_STREAM pair, as the
// init (sender) and the console receiver would hold them.
func socketpair(t *testing.T) (send, recv *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	send, recv = os.NewFile(uintptr(fds[0]), "send"), os.NewFile(uintptr(fds[1]), "recv")
	t.Cleanup(func() { send.Close(); recv.Close() })
	return send, recv
}

// TestRecvMasterRejects checks that the receiver is as strict as go-runc's:
// a message without an fd is an error, not a nil file.
func TestRecvMasterRejects(t *testing.T) {
	send, recv := socketpair(t)
	if _, err := send.Write([]byte("/dev/ptmx")); err != nil {
		t.Fatal(err)
	}
	if f, err := RecvMaster(recv); err == nil {
		f.Close()
		t.Fatal("RecvMaster accepted a message without an fd")
	}
}

func TestDial(t *testing.T) {
	path := t.TempDir() + "/console.sock"
	l, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(l)
	if err := unix.Bind(l, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(l, 1); err != nil {
		t.Fatal(err)
	}
	c, err := Dial(path)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.Close()
	if _, err := Dial(t.TempDir() + "/missing.sock"); err == nil {
		t.Error("Dial of a missing socket succeeded")
	}
}
