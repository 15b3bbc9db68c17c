package process

import (
	"errors"
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// From linux/ioprio.h; x/sys/unix does not carry them.
const (
	ioprioClassShift = 13
	ioprioWhoProcess = 1
)

var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT:   1,
	specs.IOPRIO_CLASS_BE:   2,
	specs.IOPRIO_CLASS_IDLE: 3,
}

func planIOPrio(p *specs.LinuxIOPriority) (*channel.IOPrio, error) {
	if p == nil {
		return nil, nil
	}
	class, ok := ioprioClasses[p.Class]
	if !ok {
		return nil, fmt.Errorf("process.ioPriority.class: unknown class %q", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return nil, fmt.Errorf("process.ioPriority.priority: %d is outside 0..7", p.Priority)
	}
	return &channel.IOPrio{Class: class, Priority: p.Priority}, nil
}

// applyIOPrio calls ioprio_set(2) on the calling thread (who=0), the one
// that will execve.
func applyIOPrio(p *channel.IOPrio) error {
	if p == nil {
		return nil
	}
	prio := uintptr(p.Class<<ioprioClassShift | p.Priority)
	if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, prio); errno != 0 {
		why := ""
		if errors.Is(errno, unix.EPERM) {
			why = " (IOPRIO_CLASS_RT needs CAP_SYS_ADMIN or CAP_SYS_NICE)"
		}
		return fmt.Errorf("ioprio_set class=%d priority=%d: %w%s", p.Class, p.Priority, errno, why)
	}
	return nil
}
