// Package terminal gives a container process a pseudo-terminal the way runc
// does, so that every console receiver written for runc (containerd's shim,
// go-runc's ConsoleSocket, runc's recvtty, podman's conmon) accepts ours.
//
// The wire contract of --console-socket, as runc implements it: the runtime
// connects to the caller's SOCK_STREAM unix socket and sends exactly one
// message whose payload is the master's file name ("/dev/ptmx") and whose
// ancillary data carries exactly one fd (SCM_RIGHTS), the pty master.
// Receivers check that the control message is exactly CMSG_SPACE(4) bytes and
// the name shorter than 4096 bytes, so we never send more than one fd.
//
// Setup runs in the init (inside the container, after /dev/pts is mounted),
// so that the pty belongs to the container's devpts instance; Dial,
// RecvMaster and Resize are for the caller's side.
package terminal

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// MasterName is the payload runc sends with the master: the name of the
// master's *os.File, which is the path it was opened from.
const MasterName = "/dev/ptmx"

// maxNameLen is the receive buffer runc and go-runc use for the payload.
const maxNameLen = 4096

// Setup allocates a pty inside the container, sends its master over the
// connected console socket consoleFD, and returns the slave. rows and cols,
// when both non-zero, set the initial window size (before the master leaves,
// so the workload never sees a 0x0 terminal). consoleFD is left open: the
// caller owns it and closes it (or lets close-on-exec do it).
//
// The caller makes the slave stdin/stdout/stderr and the controlling
// terminal: see Attach.
func Setup(consoleFD int, rows, cols uint) (slave *os.File, err error) {
	master, err := openMaster()
	if err != nil {
		return nil, err
	}
	// The master only has to live until the receiver has its own copy.
	defer master.Close()

	slave, err = openSlave(master)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			slave.Close()
		}
	}()
	if rows != 0 && cols != 0 {
		if err := Resize(master, rows, cols); err != nil {
			return nil, err
		}
	}
	if err := sendMaster(consoleFD, master); err != nil {
		return nil, err
	}
	return slave, nil
}

// openMaster opens a new pty master and unlocks its slave.
func openMaster() (*os.File, error) {
	// O_NOCTTY: the init must not acquire the master as its controlling
	// terminal by accident; it takes the slave explicitly with TIOCSCTTY.
	f, err := os.OpenFile(MasterName, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open pty master: %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("unlockpt %s: %w", MasterName, err)
	}
	return f, nil
}

// openSlave opens the slave of master. TIOCGPTPEER (Linux 4.13) opens it
// through the master itself, so a hostile rootfs cannot swap /dev/pts/N for
// something else between ptsname and open; older kernels fall back to the
// path.
func openSlave(master *os.File) (*os.File, error) {
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return nil, fmt.Errorf("ptsname: %w", err)
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	// TIOCGPTPEER's argument is the open(2) flags of the new fd: without
	// O_RDWR the slave would be read-only.
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER,
		uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno == 0 {
		return os.NewFile(fd, name), nil
	}
	err = errno
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTTY) {
		return nil, fmt.Errorf("open pty slave %s: %w", name, err)
	}
	f, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open pty slave: %w", err)
	}
	return f, nil
}

// sendMaster sends master over sock in runc's format: payload = the
// master's name, one SCM_RIGHTS fd.
func sendMaster(sock int, master *os.File) error {
	rights := unix.UnixRights(int(master.Fd()))
	for {
		err := unix.Sendmsg(sock, []byte(master.Name()), rights, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("send pty master over console socket: %w", err)
		}
		return nil
	}
}

// Attach makes slave the calling process's stdin, stdout and stderr and its
// controlling terminal. The process must not be a session leader yet: it
// calls setsid first (as runc's init does), which is what lets TIOCSCTTY
// succeed without stealing a terminal from anyone.
func Attach(slave *os.File) error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(int(slave.Fd()), unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			return fmt.Errorf("dup pty slave to fd %d: %w", fd, err)
		}
	}
	return nil
}
