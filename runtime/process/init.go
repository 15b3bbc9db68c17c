package process

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/caps"
	"github.com/slrt/slrt/runtime/channel"
)

// The init-side steps. Several of them act on the calling thread only
// (capabilities, no_new_privs, scheduling attributes, I/O priority, CPU
// affinity): slrt-init must call Prepare, Finish and Exec on its locked
// main thread, the one that execve's, so that the workload inherits them.

// Prepare does what needs root inside the container, before the switch to
// the workload's user: oom_score_adj, rlimits, I/O priority, scheduler, the
// bounding set, and PR_SET_KEEPCAPS so that setuid keeps the permitted
// capabilities Finish then narrows. It also enters cwd while still root, so
// that a workload user without search permission on it still starts there
// (as with runc).
func Prepare(pp *channel.ProcessPlan) error {
	if err := applyOOMScoreAdj(pp.OOMScoreAdj); err != nil {
		return err
	}
	if err := applyRlimits(pp.Rlimits); err != nil {
		return err
	}
	if err := applyIOPrio(pp.IOPrio); err != nil {
		return err
	}
	if err := applyScheduler(pp.Scheduler); err != nil {
		return err
	}
	if err := unix.Chdir(pp.Cwd); err != nil {
		return fmt.Errorf("chdir to process.cwd %q: %w", pp.Cwd, err)
	}
	if err := checkCwdInside(pp.Cwd); err != nil {
		return err
	}
	if err := caps.DropBounding(pp.Caps); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_KEEPCAPS: %w", err)
	}
	return nil
}

// Finish becomes the workload's user and sets what must follow that:
// capabilities (setuid cleared the effective set), umask, CPU affinity and
// no_new_privs. The seccomp filter is not loaded here but by Exec, as the
// very last step, through LoadSeccomp.
func Finish(pp *channel.ProcessPlan) error {
	if err := setUser(pp.UID, pp.GID, pp.AdditionalGids); err != nil {
		return err
	}
	if err := caps.Apply(pp.Caps); err != nil {
		return err
	}
	if pp.Umask != nil {
		unix.Umask(int(*pp.Umask))
	}
	if err := SetAffinity(pp.CPUs); err != nil {
		return err
	}
	if pp.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl PR_SET_NO_NEW_PRIVS: %w", err)
		}
	}
	return nil
}

// SetAffinity pins the calling thread to a CPU list; "" leaves it alone.
// The start-with-process primitive calls it with its own "cpus" value.
func SetAffinity(list string) error { return SetAffinityOf(0, list) }

// SetAffinityOf pins process pid (0: the calling thread) to a CPU list;
// the parent uses it for execCPUAffinity.initial.
func SetAffinityOf(pid int, list string) error {
	if list == "" {
		return nil
	}
	set, err := ParseCPUs(list)
	if err != nil {
		return err
	}
	if err := unix.SchedSetaffinity(pid, &set); err != nil {
		why := ""
		if errors.Is(err, unix.EINVAL) {
			why = " (no CPU of the list is online and in the container's cpuset)"
		}
		return fmt.Errorf("sched_setaffinity cpus %s: %w%s", list, err, why)
	}
	return nil
}
