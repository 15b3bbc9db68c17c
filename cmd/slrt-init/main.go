// Command slrt-init sets a container up from inside its namespaces and then
// becomes the workload by execve. It is never run by hand: the engine execs
// it from a sealed memfd (see runtime/inithelper) with fd 3 being the sync
// socket to its parent, and sends it a channel.Plan.
//
// The steps read top to bottom in the order the kernel and the OCI lifecycle
// need them. Everything runs on the main OS thread (locked in init below):
// capabilities, the cgroup and time namespaces and a joined mount namespace
// are per-thread state, and the workload is exec'd from this thread.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/hooks"
	"github.com/slrt/slrt/runtime/process"
	"github.com/slrt/slrt/runtime/rootfs"
)

func init() { runtime.LockOSThread() }

// syncFD is the socket to the parent, always fd 3 (the first ExtraFile).
const syncFD = 3

func main() {
	process.LoadSeccomp = loadSeccomp
	// Not dumpable until the workload's execve: no process of the
	// container can open /proc/PID/exe, /proc/PID/fd or /proc/PID/mem of the
	// init (CVE-2019-5736 needed /proc/PID/exe of the runtime).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "slrt-init: prctl(PR_SET_DUMPABLE): %v\n", err)
		os.Exit(1)
	}
	// A shell waits here, parked, until it is given a container: then its
	// stdio and extra files come with the plan.
	p, err := recvPlan()
	if err != nil {
		fmt.Fprintf(os.Stderr, "slrt-init: %v\n", err)
		_ = channel.Send(syncFD, &channel.Message{Kind: channel.KindError, Error: err.Error()})
		os.Exit(1)
	}
	// Anything else inherited is closed before any path is resolved: an fd
	// to a host directory would be a way out through /proc/self/fd/N as
	// process.cwd (CVE-2024-21626).
	if err := closeUnknownFDs(p); err != nil {
		fmt.Fprintf(os.Stderr, "slrt-init: %v\n", err)
		os.Exit(1)
	}
	if p.Exec {
		err = execProcess(p)
	} else {
		err = createContainer(p)
	}
	// Reaching here means no execve happened: tell whoever waits why.
	reply := syncFD
	if errors.As(err, new(*startErr)) {
		reply = err.(*startErr).fd
	}
	if err == nil {
		err = errors.New("init returned without executing the workload")
	}
	_ = channel.Send(reply, &channel.Message{Kind: channel.KindError, Error: err.Error()})
	os.Exit(1)
}

// startErr carries the socket on which a start failure must be reported
// (the CLI's start connects on the listening socket, not the sync one).
type startErr struct {
	fd  int
	err error
}

func (e *startErr) Error() string { return e.err.Error() }
func (e *startErr) Unwrap() error { return e.err }

func createContainer(p *channel.Plan) error {
	if p.UnshareCgroupNS {
		// The parent placed us in our v1 cgroups before sending the plan,
		// so the new cgroup namespace is rooted at the container's cgroup.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	if err := rootfs.Prepare(&p.Rootfs, p.NewUserNS); err != nil {
		return err
	}
	if err := channel.Send(syncFD, &channel.Message{Kind: channel.KindMountsReady}); err != nil {
		return err
	}
	// The parent runs prestart and createRuntime hooks now.
	cont, err := channel.Expect(syncFD, channel.KindContinue)
	if err != nil {
		return fmt.Errorf("wait for the runtime's hooks: %w", err)
	}
	if err := hooks.Run("createContainer", p.CreateCtrHooks, cont.State); err != nil {
		return err
	}
	if err := rootfs.Pivot(&p.Rootfs); err != nil {
		return err
	}
	// After pivot_root, as runc does: /dev/ptmx must be the container's
	// (its own devpts instance), not the host's.
	if p.Console {
		if err := setupConsole(p); err != nil {
			return err
		}
	}
	if err := setNames(p); err != nil {
		return err
	}
	if err := writeSysctls(p.Sysctls); err != nil {
		return err
	}
	if err := rootfs.Finish(&p.Rootfs); err != nil {
		return err
	}
	if err := timeNamespace(p); err != nil {
		return err
	}
	if err := process.Prepare(&p.Proc); err != nil {
		return err
	}
	// Fail at create, as runc does, when the workload cannot be found.
	if _, err := process.Lookup(p.Proc.Args[0], p.Proc.Env); err != nil {
		return err
	}
	if err := channel.Send(syncFD, &channel.Message{Kind: channel.KindCreated}); err != nil {
		return err
	}

	req, reply, err := waitStart(p)
	if err != nil {
		return err
	}
	if err := start(p, req); err != nil {
		return &startErr{fd: reply, err: err}
	}
	return nil
}

// waitStart parks the init until someone asks it to start: the parent on
// the sync socket (in-process callers) or a CLI `start` connecting to the
// listening socket. It returns the request and the socket to answer on.
func waitStart(p *channel.Plan) (*channel.Message, int, error) {
	fds := []unix.PollFd{{Fd: syncFD, Events: unix.POLLIN}}
	if p.ListenFD > 0 {
		fds = append(fds, unix.PollFd{Fd: int32(p.ListenFD), Events: unix.POLLIN})
	}
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return nil, -1, fmt.Errorf("wait for start: %w", err)
		}
		if fds[0].Revents != 0 && fds[0].Fd >= 0 {
			m, err := channel.Expect(syncFD, channel.KindStart)
			switch {
			case err == nil:
				return m, syncFD, nil
			case errors.Is(err, io.EOF) && p.ListenFD > 0:
				// The creating CLI exited; starts come on the listener.
				fds[0].Fd = -1
			default:
				return nil, -1, fmt.Errorf("wait for start: %w", err)
			}
		}
		if len(fds) > 1 && fds[1].Revents != 0 {
			conn, _, err := unix.Accept4(p.ListenFD, unix.SOCK_CLOEXEC)
			if err != nil {
				continue
			}
			m, err := channel.Expect(conn, channel.KindStart)
			if err != nil {
				unix.Close(conn)
				continue
			}
			return m, conn, nil
		}
	}
}

// start runs the last steps before the workload: the replacement process
// (fast start), startContainer hooks, credentials, capabilities, affinity,
// then execve. On success it does not return; the reply socket closes on
// exec and the starter reads EOF.
func start(p *channel.Plan, m *channel.Message) error {
	if r := m.Start; r != nil {
		if len(r.Args) > 0 {
			p.Proc.Args = r.Args
		}
		if r.Env != nil {
			p.Proc.Env = r.Env
		}
		if r.Cwd != "" {
			p.Proc.Cwd = r.Cwd
		}
		if r.CPUs != "" {
			p.Proc.CPUs = r.CPUs
		}
	}
	if err := hooks.Run("startContainer", p.StartCtrHooks, m.State); err != nil {
		return err
	}
	return finishAndExec(&p.Proc, p.PreserveFDs)
}

func execProcess(p *channel.Plan) error {
	if p.MountNSFD > 0 {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("unshare fs attributes: %w", err)
		}
		if err := unix.Setns(p.MountNSFD, unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("join the container's mount namespace: %w", err)
		}
		unix.Close(p.MountNSFD)
	}
	if p.Console {
		if err := setupConsole(p); err != nil {
			return err
		}
	}
	if err := process.Prepare(&p.Proc); err != nil {
		return err
	}
	return finishAndExec(&p.Proc, p.PreserveFDs)
}

func finishAndExec(pp *channel.ProcessPlan, preserve []int) error {
	if err := seccompBeforeFinish(pp, len(preserve)); err != nil {
		return err
	}
	if err := process.Finish(pp); err != nil {
		return err
	}
	if _, err := process.Lookup(pp.Args[0], pp.Env); err != nil {
		return err
	}
	// No fd of ours may reach the workload: the sync and listening
	// sockets, the console socket, anything inherited by mistake.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	if err := preserveFDs(preserve); err != nil {
		return err
	}
	return process.Exec(pp)
}
