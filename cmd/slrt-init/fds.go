package main

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

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
