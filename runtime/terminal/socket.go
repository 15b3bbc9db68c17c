package terminal

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Dial connects to the caller's --console-socket. The returned file is
// close-on-exec; pass its fd to the init explicitly.
func Dial(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socket %s: %w", path, err)
	}
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect to console socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// RecvMaster receives a pty master sent in runc's format from a connected
// socket. It is as strict as go-runc's receiver (one fd, a name shorter than
// 4096 bytes), so a test against it proves what the init sends is accepted there.
// The returned file is named after the payload.
func RecvMaster(sock *os.File) (*os.File, error) {
	name := make([]byte, maxNameLen)
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(int(sock.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("receive pty master: %w", err)
	}
	if n >= maxNameLen || oobn != unix.CmsgSpace(4) {
		return nil, fmt.Errorf("receive pty master: unexpected message (name %d bytes, control %d bytes)", n, oobn)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("receive pty master: %w", err)
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("receive pty master: %d control messages, want 1", len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, fmt.Errorf("receive pty master: %w", err)
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("receive pty master: want exactly one fd")
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

// Resize sets the window size of the terminal behind f (master or slave).
func Resize(f *os.File, rows, cols uint) error {
	ws := &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}
	if err := unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		return fmt.Errorf("resize terminal %s to %dx%d: %w", f.Name(), rows, cols, err)
	}
	return nil
}

// Size returns the window size of the terminal behind f.
func Size(f *os.File) (rows, cols uint, err error) {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0, 0, fmt.Errorf("window size of %s: %w", f.Name(), err)
	}
	return uint(ws.Row), uint(ws.Col), nil
}
