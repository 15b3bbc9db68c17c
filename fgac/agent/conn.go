package agent

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// maxState bounds the ContainerProcessState (annotations included).
const maxState = 1 << 20

// conn is one process's notify fd and the container it belongs to.
type conn struct {
	a     *Agent
	state specs.ContainerProcessState
	f     *os.File // the notify fd, non-blocking, in Go's poller
	fd    int
	mntns uint64
	name  string // for the log: "container ID (pid N)"
}

// serveConn reads the state and the fd, then answers notifications until
// no process uses the filter any more or the agent stops.
func (a *Agent) serveConn(uc *net.UnixConn) {
	st, fd, err := readState(uc)
	uc.Close()
	if err != nil {
		a.logf("connection: %v", err)
		return
	}
	c := &conn{a: a, state: st, fd: fd, name: fmt.Sprintf("container %s (pid %d)", st.State.ID, st.Pid)}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		a.logf("%s: notify fd: %v", c.name, err)
		return
	}
	c.f = os.NewFile(uintptr(fd), "seccomp-notify")
	defer c.f.Close()
	// The mount namespace keys the mounts the agent makes; read through
	// /proc/PID while the process is surely alive (it waits for us).
	var sst unix.Stat_t
	if unix.Stat("/proc/"+strconv.Itoa(st.Pid)+"/ns/mnt", &sst) == nil {
		c.mntns = sst.Ino
	}
	if !a.addConn(c) {
		c.drain()
		return
	}
	defer a.removeConn(c)
	if _, err := a.policy.Load().Select(st.Metadata, st.State.Annotations); err != nil {
		a.logf("%s: every notified syscall will be denied: %v", c.name, err)
	}
	c.loop()
}

// readState reads one ContainerProcessState and its "seccompFd".
func readState(uc *net.UnixConn) (specs.ContainerProcessState, int, error) {
	var st specs.ContainerProcessState
	uc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var data []byte
	var fds []int
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(16*4))
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	for len(data) < maxState && !json.Valid(data) {
		n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
		if oobn > 0 {
			msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
			for i := range msgs {
				got, _ := unix.ParseUnixRights(&msgs[i])
				fds = append(fds, got...)
			}
		}
		data = append(data, buf[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	if err := json.Unmarshal(data, &st); err != nil {
		closeAll()
		return st, -1, fmt.Errorf("ContainerProcessState: %v", err)
	}
	seccompFD := -1
	for i, name := range st.Fds {
		if name == specs.SeccompFdName && i < len(fds) {
			seccompFD = fds[i]
			fds[i] = -1
		}
	}
	closeAll()
	if seccompFD < 0 {
		return st, -1, fmt.Errorf("container %s: no %q among the fds %v (%d received)", st.State.ID, specs.SeccompFdName, st.Fds, len(fds))
	}
	return st, seccompFD, nil
}

// wake makes the loop look at the agent's state (Shutdown).
func (c *conn) wake() { c.f.SetReadDeadline(time.Now()) }

// loop waits in Go's poller (no OS thread per container) for
// notifications and answers them one by one.
func (c *conn) loop() {
	rc, err := c.f.SyscallConn()
	if err != nil {
		c.a.logf("%s: %v", c.name, err)
		return
	}
	for {
		var hup, ready bool
		err := rc.Read(func(fd uintptr) bool {
			hup, ready = pollOnce(int(fd))
			return hup || ready
		})
		select {
		case <-c.a.stopping:
			c.drain()
			return
		default:
		}
		if err != nil || hup {
			return // no process uses the filter any more
		}
		if n, err := recv(c.fd); err == nil {
			c.handle(n)
		}
	}
}

// pollOnce asks without waiting whether a notification is pending or the
// filter has no users left.
func pollOnce(fd int) (hup, ready bool) {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(p, 0); err != nil || n == 0 {
		return false, false
	}
	return p[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0, p[0].Revents&unix.POLLIN != 0
}

// drain answers what is pending with EPERM.
func (c *conn) drain() {
	for {
		hup, ready := pollOnce(c.fd)
		if hup || !ready {
			return
		}
		n, err := recv(c.fd)
		if err != nil {
			return
		}
		c.a.logf("%s: shutting down: syscall %d denied", c.name, n.Nr)
		respond(c.fd, n.ID, 0, unix.EPERM)
	}
}
