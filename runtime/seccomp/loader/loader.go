// Package loader installs a compiled seccomp filter in the calling thread
// and hands its notify fd to the listener. It is the init's half of
// package seccomp and must stay pure Go: slrt-init is a static program
// without cgo, and it only loads raw BPF, it never links libseccomp.
package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FDName is the name of the notify fd in ContainerProcessState.fds.
const FDName = "seccompFd"

// Load installs prog (struct sock_filter array, host byte order) with
// seccomp(SECCOMP_SET_MODE_FILTER, flags). It returns the notify fd
// (close-on-exec) when flags has SECCOMP_FILTER_FLAG_NEW_LISTENER, else -1.
//
// The filter applies to the calling thread, the one that execve's, and is
// inherited by the workload. Installing it needs no_new_privs or
// CAP_SYS_ADMIN; that is why slrt-init loads it before dropping
// capabilities when the spec leaves no_new_privs off (see cmd/slrt-init).
func Load(prog []byte, flags uint32) (notifyFD int, err error) {
	const insnSize = 8
	n := len(prog) / insnSize
	if n == 0 || len(prog)%insnSize != 0 || n > 4096 {
		return -1, fmt.Errorf("seccomp program of %d bytes is not 1–4096 instructions", len(prog))
	}
	insns := make([]unix.SockFilter, n)
	for i := range insns {
		b := prog[i*insnSize:]
		insns[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:]),
			Jt:   b[2], Jf: b[3],
			K: binary.NativeEndian.Uint32(b[4:]),
		}
	}
	fprog := unix.SockFprog{Len: uint16(n), Filter: &insns[0]}
	if flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 && flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
		// The kernel refuses TSYNC with a listener unless a failed
		// sync is reported as ESRCH rather than as a thread id.
		flags |= unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(insns)
	switch {
	case errno == unix.EACCES:
		return -1, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w (needs no_new_privs or CAP_SYS_ADMIN)", errno)
	case errno != 0:
		return -1, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, flags %#x): %w", flags, errno)
	case flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 && flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER == 0 && r != 0:
		return -1, fmt.Errorf("seccomp: thread %d could not be synchronised", r)
	case flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0:
		return int(r), nil
	}
	return -1, nil
}

// SendState sends the listener the ContainerProcessState (state, a JSON
// object without "fds") and the notify fd, in one sendmsg as
// runtime-spec asks: the fd rides with the first byte. The fds member,
// ["seccompFd"], is added here, next to the fd it describes.
func SendState(sock int, state []byte, notifyFD int) error {
	state = bytes.TrimSpace(state)
	if len(state) < 2 || state[0] != '{' {
		return errors.New("seccomp listener state is not a JSON object")
	}
	msg := make([]byte, 0, len(state)+32)
	msg = append(msg, `{"fds":["`+FDName+`"]`...)
	if rest := bytes.TrimSpace(state[1:]); len(rest) > 0 && rest[0] != '}' {
		msg = append(msg, ',')
	}
	msg = append(msg, state[1:]...)

	rights := unix.UnixRights(notifyFD)
	for len(msg) > 0 {
		n, err := unix.SendmsgN(sock, msg, rights, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("send seccomp notify fd to the listener: %w", err)
		}
		// A stream socket may take part of it (a signal); the fd went
		// with the first part.
		msg, rights = msg[n:], nil
	}
	return nil
}
