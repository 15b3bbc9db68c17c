package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/seccomp/loader"
)

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
