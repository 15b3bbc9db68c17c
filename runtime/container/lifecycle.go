package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/cgroups"
	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/hooks"
)

func (c *Container) ID() string                 { return c.state.ID }
func (c *Container) Spec() (*specs.Spec, error) { return c.fullSpec() }

// Init is the container's init process when this process created it (and
// so can Wait for it); nil after Load.
func (c *Container) Init() *Process { return c.init }

// Start lets the parked init exec the workload: the spec's process, or p's
// replacement fields when p is non-nil. Poststart hooks run after it; a
// failing one is a warning (runtime-spec).
func (c *Container) Start(p *StartProcess) error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if st := c.status(); st != Created {
		return fmt.Errorf("start container %q (status %s): %w", c.state.ID, st, ErrNotCreated)
	}
	req := &channel.Message{Kind: channel.KindStart, State: c.ociState(Created)}
	if p != nil {
		req.Start = &channel.StartRequest{Args: p.Args, Env: p.Env, Cwd: p.Cwd, CPUs: p.CPUs}
	}
	fd := c.sync
	if fd < 0 {
		var err error
		if fd, err = dialInit(filepath.Join(c.dir, listenFile)); err != nil {
			return fmt.Errorf("start container %q: %w", c.state.ID, err)
		}
		defer unix.Close(fd)
	}
	if err := channel.Send(fd, req); err != nil {
		return fmt.Errorf("start container %q: %w", c.state.ID, err)
	}
	if err := awaitExec(fd); err != nil {
		return fmt.Errorf("start container %q: %w", c.state.ID, err)
	}
	if c.kid != nil {
		c.kid.closeSync()
		c.sync = -1
	}
	os.Remove(filepath.Join(c.dir, listenFile))
	c.state.Status = Running
	if err := writeJSON(c.dir, stateFile, &c.state); err != nil {
		return err
	}
	if h := c.specHooks(); h != nil && len(h.Poststart) > 0 {
		hs, err := hooks.FromSpec("poststart", h.Poststart)
		if err == nil {
			err = hooks.Run("poststart", hs, c.ociState(Running))
		}
		if err != nil {
			Warnf("container %s: %v", c.state.ID, err)
		}
	}
	return nil
}

func dialInit(path string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("connect to the init at %s: %w", path, err)
	}
	return fd, nil
}

// Kill sends sig to the init, or with all to every process in the
// container's cgroup. A SIGKILL to all freezes the cgroup first so no
// process can fork its way out between the listing and the signals.
func (c *Container) Kill(sig unix.Signal, all bool) error {
	if all && c.cg() != nil {
		if c.status() == Stopped && !all {
			return fmt.Errorf("container %q: %w", c.state.ID, ErrNotRunning)
		}
		if sig == unix.SIGKILL {
			if err := c.cg().Freeze(); err == nil {
				defer c.cg().Thaw()
			}
		}
		return c.cg().Signal(sig)
	}
	fd, err := c.pidfd()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal %d to container %q: %w", sig, c.state.ID, err)
	}
	// A frozen init does not die until thawed: after a SIGKILL, thaw a
	// paused container, as runc does (else `ctr task kill -s SIGKILL` of a
	// paused task leaves it PAUSED until someone resumes it).
	if sig == unix.SIGKILL && c.cg() != nil && c.status() == Paused {
		if err := c.cg().Thaw(); err != nil {
			return fmt.Errorf("thaw container %q after SIGKILL: %w", c.state.ID, err)
		}
	}
	return nil
}

// Delete removes a stopped or created container: its processes, cgroup and
// state, then runs poststop hooks. A running or paused one needs force.
func (c *Container) Delete(force bool) error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st := c.status()
	if (st == Running || st == Paused) && !force {
		return fmt.Errorf("cannot delete container %q that is not stopped: %w", c.state.ID, ErrRunning)
	}
	if st != Stopped {
		if err := c.killAndWait(); err != nil {
			return err
		}
	}
	if cg := c.cg(); cg != nil {
		if err := cg.Delete(); err != nil {
			return fmt.Errorf("delete container %q: %w", c.state.ID, err)
		}
	}
	if c.kid != nil {
		c.kid.closeSync()
		c.sync = -1
	}
	if h := c.specHooks(); h != nil && len(h.Poststop) > 0 {
		hs, err := hooks.FromSpec("poststop", h.Poststop)
		if err == nil {
			err = hooks.Run("poststop", hs, c.ociState(Stopped))
		}
		if err != nil {
			Warnf("container %s: %v", c.state.ID, err)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove state of container %q: %w", c.state.ID, err)
	}
	return nil
}

// killAndWait SIGKILLs everything in the container and waits until the
// init is gone and the cgroup is empty.
func (c *Container) killAndWait() error {
	fd, err := c.pidfd()
	if err == nil {
		defer unix.Close(fd)
	}
	if cg := c.cg(); cg != nil {
		_ = cg.Thaw()
		if err := c.Kill(unix.SIGKILL, true); err != nil {
			return fmt.Errorf("kill container %q: %w", c.state.ID, err)
		}
	} else if fd >= 0 {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
	if fd >= 0 {
		// A pidfd polls readable when the process exits, reaped or not.
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 10_000); err != nil || n == 0 {
			return fmt.Errorf("container %q: init did not exit after SIGKILL", c.state.ID)
		}
	}
	if c.kid != nil {
		c.kid.wait()
	}
	if cg := c.cg(); cg != nil {
		deadline := time.Now().Add(10 * time.Second)
		for {
			pids, err := cg.Pids()
			if err != nil || len(pids) == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("container %q: processes %v still in the cgroup after SIGKILL", c.state.ID, pids)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// Pids lists the host PIDs of the container's processes.
func (c *Container) Pids() ([]int, error) {
	if cg := c.cg(); cg != nil {
		return cg.Pids()
	}
	if c.status() == Stopped {
		return nil, nil
	}
	return []int{c.state.Pid}, nil
}

// Pause freezes every process of the container.
func (c *Container) Pause() error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	switch st := c.status(); st {
	case Running, Created:
	case Paused:
		return fmt.Errorf("container %q: %w", c.state.ID, ErrPaused)
	default:
		return fmt.Errorf("container %q: %w", c.state.ID, ErrNotRunning)
	}
	if c.cg() == nil {
		return fmt.Errorf("pause container %q: %w", c.state.ID, ErrNoCgroup)
	}
	return c.cg().Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if c.status() != Paused {
		return fmt.Errorf("container %q: %w", c.state.ID, ErrNotPaused)
	}
	return c.cg().Thaw()
}

// Update changes the container's cgroup resources in place and records
// them, so a later exec or update starts from the new values.
func (c *Container) Update(r *specs.LinuxResources) error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if c.status() == Stopped {
		return fmt.Errorf("container %q: %w", c.state.ID, ErrNotRunning)
	}
	if c.cg() == nil {
		return fmt.Errorf("update container %q: %w", c.state.ID, ErrNoCgroup)
	}
	s, err := c.fullSpec()
	if err != nil {
		return fmt.Errorf("update container %q: %w", c.state.ID, err)
	}
	if err := c.cg().Update(r); err != nil {
		return fmt.Errorf("update container %q: %w", c.state.ID, err)
	}
	if s.Linux == nil {
		s.Linux = new(specs.Linux)
	}
	s.Linux.Resources = r
	return writeJSON(c.dir, specFile, s)
}

// Stats returns the container's cgroup statistics.
func (c *Container) Stats() (*cgroups.Stats, error) {
	if c.cg() == nil {
		return nil, fmt.Errorf("stats of container %q: %w", c.state.ID, ErrNoCgroup)
	}
	return c.cg().Stats()
}

// OOMEvents delivers one value per OOM kill in the container's cgroup
// until stop is called (the shim turns them into TaskOOM events, published
// before the exit they cause).
func (c *Container) OOMEvents() (events <-chan struct{}, stop func(), err error) {
	if c.cg() == nil {
		return nil, nil, fmt.Errorf("oom events of container %q: %w", c.state.ID, ErrNoCgroup)
	}
	return c.cg().OOMEvents()
}

// WaitExit blocks until the init exits, for callers that did not create the
// container (they cannot reap it, so there is no exit code).
func (c *Container) WaitExit() error {
	fd, err := c.pidfd()
	if err != nil {
		if errors.Is(err, ErrNotRunning) {
			return nil
		}
		return err
	}
	defer unix.Close(fd)
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(pfd, -1)
		if err != unix.EINTR {
			return err
		}
	}
}
