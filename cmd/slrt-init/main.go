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
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/hooks"
	"github.com/slrt/slrt/runtime/process"
	"github.com/slrt/slrt/runtime/procfs"
	"github.com/slrt/slrt/runtime/rootfs"
	"github.com/slrt/slrt/runtime/seccomp/loader"
	"github.com/slrt/slrt/runtime/terminal"
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
	msg, err := channel.Expect(syncFD, channel.KindPlan)
	if err != nil {
		fmt.Fprintf(os.Stderr, "slrt-init: %v\n", err)
		os.Exit(1)
	}
	p := msg.Plan
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

// closeUnknownFDs closes every fd from 3 up that the plan does not name.
func closeUnknownFDs(p *channel.Plan) error {
	keep := append(p.FDs(), syncFD)
	slices.Sort(keep)
	next := 3
	for _, fd := range keep {
		if fd < next {
			continue
		}
		if fd > next {
			if err := unix.CloseRange(uint(next), uint(fd-1), 0); err != nil {
				return fmt.Errorf("close inherited fds %d-%d: %w", next, fd-1, err)
			}
		}
		next = fd + 1
	}
	if err := unix.CloseRange(uint(next), ^uint(0), 0); err != nil {
		return fmt.Errorf("close inherited fds from %d: %w", next, err)
	}
	return nil
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

// preserveFDs moves the fds the workload keeps to 3, 4, ... in order. They
// are first copied above every target (so a move never overwrites a source
// still to come), then dup2'd into place; dup2 clears close-on-exec.
func preserveFDs(fds []int) error {
	if len(fds) == 0 {
		return nil
	}
	high := make([]int, len(fds))
	for i, fd := range fds {
		h, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3+len(fds)+64)
		if err != nil {
			return fmt.Errorf("preserve fd %d: %w", fd, err)
		}
		high[i] = h
	}
	for i, h := range high {
		if err := unix.Dup2(h, 3+i); err != nil {
			return fmt.Errorf("preserve fd as %d: %w", 3+i, err)
		}
	}
	return nil
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

// seccompBeforeFinish settles when the seccomp filter is loaded. The
// filter should come as late as possible (fewer syscalls of ours run under
// it), so with no_new_privs it is loaded right before execve by
// process.Exec. Without no_new_privs, installing a filter needs
// CAP_SYS_ADMIN, which Finish drops for most workloads: then, as runc and
// crun do, it is loaded before Finish, and the profile must allow what
// Finish does (setgroups, setresuid, capset, prctl).
// It also keeps the listener socket clear of the fd numbers the preserved
// fds are about to take.
func seccompBeforeFinish(pp *channel.ProcessPlan, preserved int) error {
	if len(pp.Seccomp) == 0 {
		return nil
	}
	if !pp.NoNewPrivileges {
		if err := loadSeccomp(pp); err != nil {
			return fmt.Errorf("load seccomp filter: %w", err)
		}
		pp.Seccomp = nil // loaded: process.Exec has nothing left to do
		return nil
	}
	if pp.SeccompListenerFD > 0 && pp.SeccompListenerFD < 3+preserved {
		fd, err := unix.FcntlInt(uintptr(pp.SeccompListenerFD), unix.F_DUPFD_CLOEXEC, 3+preserved)
		if err != nil {
			return fmt.Errorf("move the seccomp listener socket: %w", err)
		}
		pp.SeccompListenerFD = fd
	}
	return nil
}

// loadSeccomp installs the filter and, when it has a notify listener,
// sends the listener the ContainerProcessState with the notify fd
// (runtime-spec config-linux.md#seccomp). It is process.LoadSeccomp.
func loadSeccomp(pp *channel.ProcessPlan) error {
	if len(pp.Seccomp) == 0 {
		return nil
	}
	fd, err := loader.Load(pp.Seccomp, pp.SeccompFlags)
	if err != nil || fd < 0 {
		return err
	}
	defer unix.Close(fd)
	if pp.SeccompListenerFD <= 0 {
		return errors.New("the filter has a notify fd but the plan has no listener socket")
	}
	defer unix.Close(pp.SeccompListenerFD)
	return loader.SendState(pp.SeccompListenerFD, pp.SeccompState, fd)
}

func setupConsole(p *channel.Plan) error {
	slave, err := terminal.Setup(p.ConsoleFD, p.ConsoleRows, p.ConsoleCols)
	if err != nil {
		return err
	}
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	fd := int(slave.Fd())
	for i := 0; i < 3; i++ {
		if err := unix.Dup3(fd, i, 0); err != nil {
			return fmt.Errorf("make the pty stdio: %w", err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make the pty the controlling terminal: %w", err)
	}
	if fd > 2 {
		slave.Close()
	}
	return nil
}

func setNames(p *channel.Plan) error {
	if p.SetHostname {
		if err := unix.Sethostname([]byte(p.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", p.Hostname, err)
		}
	}
	if p.SetDomainname {
		if err := unix.Setdomainname([]byte(p.Domainname)); err != nil {
			return fmt.Errorf("set domainname %q: %w", p.Domainname, err)
		}
	}
	return nil
}

// writeSysctls writes linux.sysctl through the container's /proc/sys, after
// pivot_root, so only namespaced values are reachable (the parent checked
// which keys are allowed).
func writeSysctls(list []channel.KV) error {
	if len(list) == 0 {
		return nil
	}
	proc, err := procfs.Open("/proc")
	if err != nil {
		return fmt.Errorf("sysctls: %w", err)
	}
	defer proc.Close()
	for _, kv := range list {
		if strings.Contains(kv.Key, "/") || strings.Contains(kv.Key, "..") {
			return fmt.Errorf("sysctl %q: not a sysctl name", kv.Key)
		}
		rel := "sys/" + strings.ReplaceAll(kv.Key, ".", "/")
		if err := proc.WriteFile(rel, []byte(kv.Value)); err != nil {
			return fmt.Errorf("sysctl %s=%q: %w", kv.Key, kv.Value, err)
		}
	}
	return nil
}

// timeNamespace unshares a time namespace for the workload: offsets can only
// be written before any process enters it, and this thread's execve is the
// first to enter.
func timeNamespace(p *channel.Plan) error {
	if !p.TimeNS {
		return nil
	}
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("unshare time namespace: %w", err)
	}
	var b strings.Builder
	for _, o := range p.TimeOffsets {
		fmt.Fprintf(&b, "%s %d %d\n", o.Clock, o.Secs, o.Nanos)
	}
	if b.Len() == 0 {
		return nil
	}
	proc, err := procfs.Open("/proc")
	if err != nil {
		return fmt.Errorf("time namespace offsets: %w", err)
	}
	defer proc.Close()
	if err := proc.WriteFile(procfs.Self()+"/timens_offsets", []byte(b.String())); err != nil {
		return fmt.Errorf("write time namespace offsets: %w", err)
	}
	return nil
}
