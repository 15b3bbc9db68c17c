package agent

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp user-notification ioctls (linux/seccomp.h), made directly:
// the agent needs no libseccomp.

// notif is struct seccomp_notif.
type notif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

// notifResp is struct seccomp_notif_resp.
type notifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// recv takes the next notification; it blocks when none is pending, so the
// caller polls first.
func recv(fd int) (*notif, error) {
	var n notif // must be zeroed
	if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n)); err != nil {
		return nil, err
	}
	return &n, nil
}

// respond answers notification id: errno 0 returns val, else -1/errno.
// ENOENT means the caller is gone (killed, or interrupted by a signal).
func respond(fd int, id uint64, val int64, errno unix.Errno) error {
	r := notifResp{ID: id, Val: val, Error: -int32(errno)}
	if errno != 0 {
		r.Val = 0
	}
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&r))
}

// respondContinue lets the kernel run the syscall itself. Only for a
// decision made on register arguments alone: after reading the caller's
// memory it would be a TOCTOU hole (seccomp_unotify(2)).
func respondContinue(fd int, id uint64) error {
	r := notifResp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&r))
}

// idValid reports whether notification id is still pending: its caller
// has not died (so the pid it came with still names it) nor been
// interrupted.
func idValid(fd int, id uint64) bool {
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}
