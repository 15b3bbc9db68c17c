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
// The init allocates the pty and sends the master (cmd/slrt-init/console.c:
// inside the container, after /dev/pts is mounted, so that the pty belongs to
// the container's devpts instance); this package is the caller's side: Dial,
// RecvMaster, Resize and Size.
package terminal

// MasterName is the payload runc sends with the master: the name of the
// master's *os.File, which is the path it was opened from.
const MasterName = "/dev/ptmx"

// maxNameLen is the receive buffer runc and go-runc use for the payload.
const maxNameLen = 4096
