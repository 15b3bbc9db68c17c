package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
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
		dir, ok := m.v1dirs["freezer"]
		if !ok {
			return ErrNoFreezer
		}
		return setFrozenV1(dir, frozen)
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
		dir, ok := m.v1dirs["freezer"]
		if !ok {
			return false, nil
		}
		s, err := readString(filepath.Join(dir, "freezer.state"))
		if err != nil {
			return false, fmt.Errorf("read freezer state of cgroup %s: %w", m.loc, err)
		}
		return s == "FROZEN", nil
	}
	got, err := readKV(filepath.Join(m.v2dir, "cgroup.events"), "frozen")
	if err != nil {
		return false, fmt.Errorf("read freezer state of cgroup %s: %w", m.v2dir, err)
	}
	return got == 1, nil
}

// setFrozenV1 writes the v1 freezer.state until it reads back as wanted. A
// freeze can stall in FREEZING (a task in an uninterruptible sleep, or one
// that forked as the cgroup froze); writing FROZEN again retries the
// remaining tasks, as runc does.
func setFrozenV1(dir string, frozen bool) error {
	want := "THAWED"
	if frozen {
		want = "FROZEN"
	}
	file := filepath.Join(dir, "freezer.state")
	deadline := time.Now().Add(freezeTimeout)
	for {
		if err := writeFile(file, want); err != nil {
			return err
		}
		got, err := readString(file)
		if err != nil {
			return err
		}
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			if frozen {
				// Leave it thawed rather than half frozen.
				_ = writeFile(file, "THAWED")
			}
			return fmt.Errorf("freezer.state is %s, not %s, after %v", got, want, freezeTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}
