package container

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/cgroups"
	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/inithelper"
	"github.com/slrt/slrt/runtime/namespaces"
	"github.com/slrt/slrt/runtime/process"
)

// spawnReq is one fork of slrt-init: for a new container or for exec.
type spawnReq struct {
	cloneFlags uintptr
	join       []namespaces.Target
	uidMaps    []syscall.SysProcIDMap
	gidMaps    []syscall.SysProcIDMap
	// setgroups allowed in a new user namespace (only when root made it).
	setgroups bool
	cg        *cgroups.Manager
	// bornInCgroup clones the init from a thread inside cg's v1 cgroups
	// (and into its v2 one with CLONE_INTO_CGROUP), so it starts there and
	// is never moved (see cgroups.Manager.EnterThread). Only for a cgroup
	// just made, which cannot be frozen.
	bornInCgroup bool
	stdin        *os.File
	stdout       *os.File
	stderr       *os.File
	// extra are passed as fd 4, 5, ... (fd 3 is always the sync socket).
	extra []*os.File
	// userns, when set, is a user namespace to join: only a
	// single-threaded process can, so slrt-nsenter joins it and then
	// execs slrt-init. cloneFlags are then made by slrt-nsenter after
	// the join, so the joined namespace owns them (userns.go).
	userns *os.File
	// initialCPUs is execCPUAffinity.initial, set on the new process
	// before it joins the cgroup (whose cpuset may be narrower).
	initialCPUs string
}

// child is a spawned slrt-init, with the parent's end of the sync socket.
type child struct {
	cmd  *exec.Cmd
	sync int
	// planFiles are sent with the plan (a Shell got none at clone):
	// stdin, stdout, stderr, then the extra files.
	planFiles []*os.File

	waitOnce sync.Once
	status   ExitStatus
}

// initEnv is slrt-init's whole environment (the workload's comes from the
// plan). It turns off Go's cgroup-aware GOMAXPROCS: the init would read
// the container's cgroup CPU files at start-up and keep them open to
// re-read, work and fds a process that lives milliseconds does not need.
var initEnv = []string{"GODEBUG=containermaxprocs=0,updatemaxprocs=0"}

// pass adds f to the files the init gets and returns its fd number there:
// 3 is the sync socket, the extra files follow from 4.
func (r *spawnReq) pass(f *os.File) int {
	r.extra = append(r.extra, f)
	return 3 + len(r.extra)
}

// spawn forks slrt-init in the requested namespaces and cgroup. The init
// then blocks reading the plan, so it does nothing before the caller sends
// it; by then it is in its cgroups.
func spawn(r *spawnReq) (*child, error) {
	// The child gets the sync socket, the extra files and, to join a user
	// namespace, two more (see below): the helper's fd goes above them all.
	helper, nfds := inithelper.Path, 1+len(r.extra)
	if r.userns != nil {
		helper, nfds = inithelper.NsenterPath, nfds+2
	}
	path, closeHelper, err := helperPath(helper, nfds)
	if err != nil {
		return nil, err
	}
	defer closeHelper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create sync socket: %w", err)
	}
	childEnd := os.NewFile(uintptr(fds[1]), "sync")
	defer childEnd.Close()

	born := r.bornInCgroup && r.cg != nil
	var cgFD *os.File
	if r.cg != nil {
		open := r.cg.UnifiedFD
		if born {
			open = r.cg.CloneFD
		}
		if cgFD, err = open(); err != nil {
			unix.Close(fds[0])
			return nil, err
		}
		if cgFD != nil {
			defer cgFD.Close()
		}
	}
	args := []string{"slrt-init"}
	files := append([]*os.File{childEnd}, r.extra...)
	if r.userns != nil {
		initFile, err := inithelper.File()
		if err != nil {
			unix.Close(fds[0])
			return nil, err
		}
		args = []string{"slrt-nsenter", strconv.Itoa(3 + len(files)), strconv.Itoa(4 + len(files))}
		files = append(files, r.userns, initFile)
		if r.cloneFlags != 0 {
			args = append(args, strconv.FormatUint(uint64(r.cloneFlags), 10))
			// The init's first record tells its pid (readNsenterPid).
			if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
				unix.Close(fds[0])
				return nil, fmt.Errorf("set SO_PASSCRED on the sync socket: %w", err)
			}
		}
	}
	// Namespaces made at clone by Go are owned by the runtime's user
	// namespace: with one to join, slrt-nsenter makes them.
	goFlags := r.cloneFlags
	if r.userns != nil {
		goFlags = 0
	}
	newCmd := func(intoCgroup bool) *exec.Cmd {
		cmd := &exec.Cmd{
			Path:       path,
			Args:       args,
			Env:        initEnv,
			Stdin:      orDefault(r.stdin, os.Stdin),
			Stdout:     orDefault(r.stdout, os.Stdout),
			Stderr:     orDefault(r.stderr, os.Stderr),
			ExtraFiles: files,
			SysProcAttr: &syscall.SysProcAttr{
				Cloneflags:  goFlags,
				UidMappings: r.uidMaps,
				GidMappings: r.gidMaps,
			},
		}
		if goFlags&unix.CLONE_NEWUSER != 0 {
			// Become the user namespace's root right after the maps
			// are written, before the init runs any code.
			cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: !r.setgroups}
			cmd.SysProcAttr.GidMappingsEnableSetgroups = r.setgroups
		}
		if intoCgroup {
			cmd.SysProcAttr.UseCgroupFD = true
			cmd.SysProcAttr.CgroupFD = int(cgFD.Fd())
		}
		return cmd
	}

	cmd := newCmd(cgFD != nil)
	if born {
		err = startInCgroup(r.cg, r.join, cmd.Start)
	} else {
		err = namespaces.Spawn(r.join, cmd.Start)
	}
	placed := err == nil && (cgFD != nil || born)
	if err != nil && (cgFD != nil || born) {
		// CLONE_INTO_CGROUP can fail where a plain write to
		// cgroup.procs works (e.g. a cgroup of a threaded type), and a
		// clone from inside the cgroup where the spawning thread counts
		// against a tiny pids.max; an exec.Cmd cannot be started twice,
		// so build a fresh one and place the init by Add.
		cmd = newCmd(false)
		err = namespaces.Spawn(r.join, cmd.Start)
	}
	if err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("start init: %w", err)
	}
	if r.userns != nil && r.cloneFlags != 0 {
		// The helper has exited; the init it cloned is our child, and
		// from here on cmd stands for it (child.wait uses cmd.Process).
		childEnd.Close() // an EOF if the helper dies before cloning
		init, err := readNsenterPid(cmd, fds[0])
		if err != nil {
			unix.Close(fds[0])
			return nil, fmt.Errorf("start init: %w", err)
		}
		cmd.Process = init
	}
	c := &child{cmd: cmd, sync: fds[0]}
	if r.initialCPUs != "" {
		if err := process.SetAffinityOf(cmd.Process.Pid, r.initialCPUs); err != nil {
			c.kill()
			return nil, err
		}
	}
	if r.cg != nil && !placed {
		if err := r.cg.Add(cmd.Process.Pid); err != nil {
			c.kill()
			return nil, err
		}
	}
	return c, nil
}

// startInCgroup runs start, after joining the namespaces in join, on a
// thread that has entered cg's v1 cgroups, and brings the thread back. The
// thread is its own goroutine's: if it cannot come back it stays locked and
// exits with that goroutine, never running other code in the container's
// cgroups. Its CPU affinity, which entering and leaving a cpuset resets, is
// restored.
func startInCgroup(cg *cgroups.Manager, join []namespaces.Target, start func() error) error {
	errc := make(chan error, 1)
	go func() {
		errc <- namespaces.Spawn(join, func() error {
			runtime.LockOSThread()
			var cpus unix.CPUSet
			if err := unix.SchedGetaffinity(0, &cpus); err != nil {
				runtime.UnlockOSThread()
				return fmt.Errorf("read the spawning thread's CPU affinity: %w", err)
			}
			leave, err := cg.EnterThread()
			if err != nil {
				if !cgroups.ThreadStuck(err) {
					runtime.UnlockOSThread()
				}
				return err
			}
			err = start()
			if lerr := leave(); lerr != nil {
				// The init is placed; only this thread is lost.
				Warnf("%v", lerr)
				return err
			}
			unix.SchedSetaffinity(0, &cpus)
			runtime.UnlockOSThread()
			return err
		})
	}()
	return <-errc
}

// helperPath returns a /proc/self/fd path to the init helper whose fd
// number is above every fd the child gets (0-2, then n extra files from 3):
// the child resolves the path after its fds were moved into place, so a
// lower number could name one of them (the memfd is often fd 5 in a small
// process, exactly where a second extra file lands).
func helperPath(get func() (string, error), n int) (string, func(), error) {
	path, err := get()
	if err != nil {
		return "", nil, err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open helper %s: %w", path, err)
	}
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3+n)
	unix.Close(fd)
	if err != nil {
		return "", nil, fmt.Errorf("dup helper fd: %w", err)
	}
	return fmt.Sprintf("/proc/self/fd/%d", high), func() { unix.Close(high) }, nil
}

func orDefault(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

// send passes a message to the init, with the plan files on the first.
func (c *child) send(m *channel.Message) error {
	if len(c.planFiles) == 0 {
		return channel.Send(c.sync, m)
	}
	fds := make([]int, len(c.planFiles))
	for i, f := range c.planFiles {
		fds[i] = int(f.Fd())
	}
	err := channel.SendFiles(c.sync, m, fds)
	runtime.KeepAlive(c.planFiles)
	c.planFiles = nil
	return err
}

// kill ends a failed spawn: SIGKILL, reap, close the socket.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	c.wait()
	c.closeSync()
}

func (c *child) closeSync() {
	if c.sync >= 0 {
		unix.Close(c.sync)
		c.sync = -1
	}
}

// wait reaps the init once; later calls return the same status.
func (c *child) wait() ExitStatus {
	c.waitOnce.Do(func() {
		// Process.Wait, not cmd.Wait: after a slrt-nsenter clone, cmd
		// was the helper's (reaped) and Process is the init. Nothing
		// else needs cmd.Wait: stdio are *os.File, copied by no goroutine.
		ps, err := c.cmd.Process.Wait()
		c.status = exitStatus(c.cmd.Process.Pid, ps, err)
	})
	return c.status
}

func exitStatus(pid int, ps *os.ProcessState, err error) ExitStatus {
	st := ExitStatus{Pid: pid, At: time.Now(), Code: 255}
	if ps == nil {
		return st
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return st
	}
	switch {
	case ws.Signaled():
		st.Signaled, st.Signal = true, int(ws.Signal())
		st.Code = 128 + st.Signal
	default:
		st.Code = ws.ExitStatus()
	}
	return st
}

// awaitExec waits for the outcome of a start or exec request on fd: EOF
// means the init reached execve (the socket is close-on-exec); an Error
// message carries the reason it did not.
func awaitExec(fd int) error {
	m, err := channel.Recv(fd)
	switch {
	case errors.Is(err, errEOF):
		return nil
	case err != nil:
		return err
	case m.Kind == channel.KindError:
		return errors.New(m.Error)
	default:
		return fmt.Errorf("protocol: unexpected %q message after start", m.Kind)
	}
}

// idMaps converts spec mappings for SysProcAttr.
// It returns nil for none: syscall treats a non-nil empty slice as "maps
// will be written" and the vforked child would wait for them forever.
func idMaps(in []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	if len(in) == 0 {
		return nil
	}
	out := make([]syscall.SysProcIDMap, len(in))
	for i, m := range in {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}
