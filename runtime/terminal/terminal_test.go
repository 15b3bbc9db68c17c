package terminal

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

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

func TestSetupRoundTrip(t *testing.T) {
	if _, err := os.Stat(MasterName); err != nil {
		t.Skipf("no %s: %v", MasterName, err)
	}
	tests := []struct {
		name       string
		rows, cols uint
		wantRows   uint
		wantCols   uint
	}{
		{"sized", 40, 132, 40, 132},
		{"unsized keeps the kernel default", 0, 0, 0, 0},
		{"half a size is ignored", 0, 80, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send, recv := socketpair(t)
			slave, err := Setup(int(send.Fd()), tt.rows, tt.cols)
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			t.Cleanup(func() { slave.Close() })
			master, err := RecvMaster(recv)
			if err != nil {
				t.Fatalf("RecvMaster: %v", err)
			}
			t.Cleanup(func() { master.Close() })

			if master.Name() != MasterName {
				t.Errorf("payload = %q, want %q (runc's SendFile sends the master's name)", master.Name(), MasterName)
			}
			rows, cols, err := Size(master)
			if err != nil {
				t.Fatal(err)
			}
			if rows != tt.wantRows || cols != tt.wantCols {
				t.Errorf("size = %dx%d, want %dx%d", rows, cols, tt.wantRows, tt.wantCols)
			}
			if err := Resize(master, 25, 80); err != nil {
				t.Fatal(err)
			}
			if rows, cols, _ := Size(slave); rows != 25 || cols != 80 {
				t.Errorf("slave size after Resize = %dx%d, want 25x80", rows, cols)
			}
			assertConnected(t, master, slave)
			// The init's stdout is the slave: it must be writable too.
			if _, err := slave.Write([]byte("x")); err != nil {
				t.Errorf("slave is not writable: %v", err)
			}
			assertCloexec(t, master)
			assertCloexec(t, slave)
		})
	}
}

// assertConnected checks that the received master and the returned slave
// are the two ends of one pty: bytes written to the master arrive at the
// slave.
func assertConnected(t *testing.T, master, slave *os.File) {
	t.Helper()
	// Raw mode so the line discipline neither waits for a newline nor
	// echoes back into the master.
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ICANON | unix.ECHO
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	want := []byte("ping")
	if _, err := master.Write(want); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(slave, got); done <- err }()
	select {
	case err := <-done:
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("slave read %q, %v; want %q", got, err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slave did not receive what was written to the master")
	}
}

func assertCloexec(t *testing.T, f *os.File) {
	t.Helper()
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("%s is not close-on-exec", f.Name())
	}
}

// TestWireFormat pins the exact message Setup sends: one datagram-like
// write whose payload is "/dev/ptmx" and whose control data is one
// SCM_RIGHTS message with one fd, byte for byte what runc's SendFile
// produces and go-runc's receiver insists on.
func TestWireFormat(t *testing.T) {
	if _, err := os.Stat(MasterName); err != nil {
		t.Skipf("no %s: %v", MasterName, err)
	}
	send, recv := socketpair(t)
	slave, err := Setup(int(send.Fd()), 24, 80)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	defer slave.Close()

	buf := make([]byte, maxNameLen)
	oob := make([]byte, 256) // room for more than one fd: prove there is only one
	n, oobn, _, _, err := unix.Recvmsg(int(recv.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "/dev/ptmx" {
		t.Errorf("payload = %q, want %q", got, "/dev/ptmx")
	}
	if oobn != unix.CmsgSpace(4) {
		t.Errorf("control length = %d, want %d (exactly one fd)", oobn, unix.CmsgSpace(4))
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages = %d, %v; want 1", len(msgs), err)
	}
	if msgs[0].Header.Level != unix.SOL_SOCKET || msgs[0].Header.Type != unix.SCM_RIGHTS {
		t.Errorf("control message level/type = %d/%d, want SOL_SOCKET/SCM_RIGHTS", msgs[0].Header.Level, msgs[0].Header.Type)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("fds = %v, %v; want one", fds, err)
	}
	defer unix.Close(fds[0])
	// The fd is a pty master: TIOCGPTN only works on masters.
	if _, err := unix.IoctlGetUint32(fds[0], unix.TIOCGPTN); err != nil {
		t.Errorf("received fd is not a pty master: %v", err)
	}
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
