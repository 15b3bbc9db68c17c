package main

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// recvPlan waits for the plan and puts any fds passed with it where a
// freshly cloned init would have had them.
func recvPlan() (*channel.Plan, error) {
	m, fds, err := channel.RecvFiles(syncFD)
	if err != nil {
		return nil, err
	}
	if m.Kind != channel.KindPlan || m.Plan == nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("protocol: got %q message, want %q", m.Kind, channel.KindPlan)
	}
	if err := placeFiles(fds); err != nil {
		return nil, err
	}
	return m.Plan, nil
}

// placeFiles moves fds passed with a plan into place: the first three
// become stdin, stdout and stderr, the rest 4, 5, ... (3 is the sync
// socket), the numbers the plan's fd fields name. Each is first copied
// above every target, so no move overwrites one still to come; dup2
// clears close-on-exec, as on fds inherited at clone.
func placeFiles(fds []int) error {
	if len(fds) == 0 {
		return nil
	}
	if len(fds) < 3 {
		return fmt.Errorf("plan came with %d fds, want stdin, stdout and stderr first", len(fds))
	}
	target := func(i int) int {
		if i < 3 {
			return i
		}
		return i + 1
	}
	floor := target(len(fds)-1) + 1
	high := make([]int, len(fds))
	for i, fd := range fds {
		h, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, floor)
		if err != nil {
			return fmt.Errorf("move passed fd %d: %w", i, err)
		}
		unix.Close(fd)
		high[i] = h
	}
	for i, h := range high {
		if err := unix.Dup2(h, target(i)); err != nil {
			return fmt.Errorf("move passed fd %d to %d: %w", i, target(i), err)
		}
		unix.Close(h)
	}
	return nil
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
