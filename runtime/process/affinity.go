package process

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

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
