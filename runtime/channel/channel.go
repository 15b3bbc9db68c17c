package channel

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// Kind names a protocol step. The order for a new container is:
//
//	parent → init  Plan
//	init   → parent MountsReady   (namespaces and spec mounts exist; parent runs
//	                               prestart and createRuntime hooks)
//	parent → init  Continue
//	init   → parent Created       (pivoted, parked; waiting for Start)
//	starter→ init  Start          (optionally with a replacement process)
//	init closes the socket by execve (close-on-exec): EOF means success;
//	an Error message means the start failed.
//
// For exec the parent sends Plan{Exec: true} and then Start straight away.
//
// A shell (an init spawned ahead of need, see container.Shell) was given
// no stdio or extra files at clone: its Plan message carries them
// (SCM_RIGHTS, Message.Files says how many) and the init moves them to the
// numbers a freshly cloned init would have had them at (stdio 0-2, extra
// files from 4), so the rest of the protocol does not change.
type Kind string

const (
	KindPlan        Kind = "plan"
	KindMountsReady Kind = "mounts-ready"
	KindContinue    Kind = "continue"
	KindCreated     Kind = "created"
	KindStart       Kind = "start"
	KindError       Kind = "error"
)

// Message is one datagram on a SOCK_SEQPACKET socket.
type Message struct {
	Kind  Kind          `json:"kind"`
	Plan  *Plan         `json:"plan,omitempty"`
	Start *StartRequest `json:"start,omitempty"`
	Error string        `json:"error,omitempty"`
	// State is the OCI state JSON given to hooks the init runs
	// (createContainer with Continue, startContainer with Start).
	State []byte `json:"state,omitempty"`
	// Files is the number of fds passed with the message (SendFiles):
	// stdin, stdout, stderr, then the init's extra files in fd order.
	Files int `json:"files,omitempty"`
}

// StartRequest optionally replaces the process a created container runs:
// the fast-start primitive. Empty fields keep the values from the spec.
type StartRequest struct {
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	Cwd  string   `json:"cwd,omitempty"`
	// CPUs is a CPU list applied with sched_setaffinity before execve.
	CPUs string `json:"cpus,omitempty"`
}

// maxMessage bounds one datagram; a plan with a large seccomp program stays
// well below it.
const maxMessage = 1 << 20

// Send writes m as one datagram on fd.
func Send(fd int, m *Message) error {
	b, err := m.encode()
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Kind, err)
	}
	for {
		err = unix.Sendmsg(fd, b, nil, nil, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("send %s message: %w", m.Kind, err)
	}
	return nil
}

// MaxFiles is how many fds one message may carry (the kernel's
// SCM_MAX_FD).
const MaxFiles = 253

// SendFiles writes m as one datagram with fds attached (SCM_RIGHTS) and
// m.Files set to their number, so the receiver can check that none was
// lost.
func SendFiles(fd int, m *Message, fds []int) error {
	if len(fds) == 0 {
		return Send(fd, m)
	}
	if len(fds) > MaxFiles {
		return fmt.Errorf("send %s message: %d fds is more than the %d one message can carry", m.Kind, len(fds), MaxFiles)
	}
	m.Files = len(fds)
	b, err := m.encode()
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Kind, err)
	}
	rights := unix.UnixRights(fds...)
	for {
		err = unix.Sendmsg(fd, b, rights, nil, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("send %s message with %d fds: %w", m.Kind, len(fds), err)
	}
	return nil
}

// Recv reads one datagram from fd. It returns io.EOF when the peer closed
// the socket without sending anything more.
func Recv(fd int) (*Message, error) {
	// Peek with MSG_TRUNC for the datagram's size, then read it into a
	// buffer of that size: a fixed maxMessage buffer per message was a
	// measured 1 MiB of garbage per start.
	var one [1]byte
	n, err := recvRetry(fd, one[:], unix.MSG_PEEK|unix.MSG_TRUNC)
	if err != nil {
		return nil, fmt.Errorf("receive message: %w", err)
	}
	if n == 0 {
		return nil, io.EOF
	}
	if n > maxMessage {
		return nil, fmt.Errorf("receive message: %d bytes is more than the %d allowed", n, maxMessage)
	}
	buf := make([]byte, n)
	if n, err = recvRetry(fd, buf, 0); err != nil {
		return nil, fmt.Errorf("receive message: %w", err)
	}
	m, err := decodeMessage(buf[:n])
	if err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	return m, nil
}

func recvRetry(fd int, buf []byte, flags int) (int, error) {
	for {
		n, _, _, _, err := unix.Recvmsg(fd, buf, nil, flags)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// Expect receives one message and checks its kind. An Error message from
// the peer becomes an error carrying its text.
func Expect(fd int, want Kind) (*Message, error) {
	m, err := Recv(fd)
	if err != nil {
		return nil, err
	}
	if m.Kind == KindError {
		return nil, errors.New(m.Error)
	}
	if m.Kind != want {
		return nil, fmt.Errorf("protocol: got %q message, want %q", m.Kind, want)
	}
	return m, nil
}
