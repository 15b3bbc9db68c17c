package installer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/signals"
)

// Restart is how containerd (or k3s, whose containerd is embedded) is made
// to read its new config. Nodes differ (systemd, openrc, s6, a script), and
// this one has no systemd, so it is configurable:
//
//	none                 the admin restarts it
//	command:CMD          /bin/sh -c CMD on the host: in the mount namespace
//	                     of PID 1 when that is not ours (the DaemonSet runs
//	                     with hostPID for this), e.g. command:systemctl restart k3s
//	signal:PIDFILE:SIG   SIG (a name such as TERM, or a number) to the pid
//	                     in PIDFILE (a host path), for a supervisor that
//	                     starts the daemon again
type Restart struct {
	Kind    string // "none", "command" or "signal"
	Command string
	PIDFile string
	Signal  unix.Signal
}

// ParseRestart reads a --restart value.
func ParseRestart(s string) (Restart, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch kind {
	case "", "none":
		if rest != "" {
			return Restart{}, fmt.Errorf("restart %q: none takes no argument", s)
		}
		return Restart{Kind: "none"}, nil
	case "command":
		if strings.TrimSpace(rest) == "" {
			return Restart{}, fmt.Errorf("restart %q: command:CMD needs a command", s)
		}
		return Restart{Kind: "command", Command: rest}, nil
	case "signal":
		i := strings.LastIndex(rest, ":")
		if i <= 0 {
			return Restart{}, fmt.Errorf("restart %q: want signal:PIDFILE:SIGNAL", s)
		}
		sig, err := signals.Parse(rest[i+1:])
		if err != nil {
			return Restart{}, fmt.Errorf("restart %q: %w", s, err)
		}
		return Restart{Kind: "signal", PIDFile: rest[:i], Signal: sig}, nil
	}
	return Restart{}, fmt.Errorf("restart %q: want none, command:CMD or signal:PIDFILE:SIGNAL", s)
}

// NeedsHostPID reports whether the method reaches host processes (a pod
// needs hostPID: true for it).
func (r Restart) NeedsHostPID() bool { return r.Kind != "none" }

func (r Restart) String() string {
	switch r.Kind {
	case "command":
		return "command:" + r.Command
	case "signal":
		return fmt.Sprintf("signal:%s:%s", r.PIDFile, unix.SignalName(r.Signal))
	}
	return "none"
}

// run restarts the daemon; out gets the command's output.
func (r Restart) run(h host, out *os.File) error {
	switch r.Kind {
	case "command":
		return hostCommand(r.Command, out)
	case "signal":
		data, err := os.ReadFile(h.path(r.PIDFile))
		if err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 1 {
			return fmt.Errorf("restart: %s does not hold a pid: %q", r.PIDFile, strings.TrimSpace(string(data)))
		}
		if err := unix.Kill(pid, r.Signal); err != nil {
			return fmt.Errorf("restart: signal %s to pid %d (from %s): %w", unix.SignalName(r.Signal), pid, r.PIDFile, err)
		}
	}
	return nil
}

// hostPID is the process whose mount namespace is the host's: PID 1, the
// host's init when the pod has hostPID (a variable for the tests).
var hostPID = 1

// hostCommand runs /bin/sh -c cmd in the host's mount namespace (that of
// hostPID). When its namespace cannot be read (PID 1 belongs to another
// user namespace, as in some sandboxes) the command runs where we are. The fork
// happens on a thread that joined it: setns(CLONE_NEWNS) needs the thread
// to stop sharing its fs state first, and the thread is never given back
// to Go's scheduler (it exits with the goroutine), so no other goroutine
// runs in the host's mounts.
func hostCommand(cmd string, out *os.File) error {
	same, err := sameMountNS()
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	c := &exec.Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", cmd}, Stdout: out, Stderr: out}
	if same {
		if err := c.Run(); err != nil {
			return fmt.Errorf("restart: %q: %w", cmd, err)
		}
		return nil
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread dies with this goroutine
		errc <- func() error {
			fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/mnt", hostPID), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return fmt.Errorf("unshare(CLONE_FS): %w", err)
			}
			if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("join the host's mount namespace: %w", err)
			}
			return c.Run()
		}()
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("restart: %q on the host: %w", cmd, err)
	}
	return nil
}

func sameMountNS() (bool, error) {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return false, err
	}
	init, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", hostPID))
	if errors.Is(err, os.ErrPermission) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return self == init, nil
}
