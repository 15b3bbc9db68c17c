package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
)

// freezeTimeout bounds the wait for the kernel to report a v2 cgroup frozen;
// a task stuck in an uninterruptible sleep can hold it up indefinitely.
const freezeTimeout = 5 * time.Second

// ErrNoFreezer is returned when the host has no freezer for the cgroup.
var ErrNoFreezer = errors.New("no cgroup freezer on this host")

// Freeze stops every process in the cgroup (pause) and waits until the
// kernel reports them frozen.
func (m *Manager) Freeze() error {
	if err := m.setFrozen(true); err != nil {
		return fmt.Errorf("freeze cgroup %s: %w", m.loc, err)
	}
	return nil
}

// Thaw resumes the processes Freeze stopped.
func (m *Manager) Thaw() error {
	if err := m.setFrozen(false); err != nil {
		return fmt.Errorf("thaw cgroup %s: %w", m.loc, err)
	}
	return nil
}

func (m *Manager) setFrozen(frozen bool) error {
	if !m.Unified() {
		if _, ok := m.v1dirs[string(cgroup1.Freezer)]; !ok {
			return ErrNoFreezer
		}
		if frozen {
			return m.v1.Freeze()
		}
		return m.v1.Thaw()
	}
	v := "0"
	if frozen {
		v = "1"
	}
	if err := writeFile(filepath.Join(m.v2dir, "cgroup.freeze"), v); err != nil {
		return err
	}
	// cgroup.freeze is the request; cgroup.events "frozen" is the outcome.
	deadline := time.Now().Add(freezeTimeout)
	for {
		got, err := readKV(filepath.Join(m.v2dir, "cgroup.events"), "frozen")
		if err != nil {
			return err
		}
		if (got == 1) == frozen {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup.events still says frozen=%d after %v", got, freezeTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// Frozen reports whether the cgroup is (completely) frozen.
func (m *Manager) Frozen() (bool, error) {
	if !m.Unified() {
		dir, ok := m.v1dirs[string(cgroup1.Freezer)]
		if !ok {
			return false, nil
		}
		s, err := readString(filepath.Join(dir, "freezer.state"))
		if err != nil {
			return false, fmt.Errorf("read freezer state of cgroup %s: %w", m.loc, err)
		}
		// The file says "FROZEN"; cgroup1's State constants are lower case.
		return strings.EqualFold(s, string(cgroup1.Frozen)), nil
	}
	got, err := readKV(filepath.Join(m.v2dir, "cgroup.events"), "frozen")
	if err != nil {
		return false, fmt.Errorf("read freezer state of cgroup %s: %w", m.v2dir, err)
	}
	return got == 1, nil
}
