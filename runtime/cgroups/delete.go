package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// deleteTimeout is how long Delete waits for just-exited processes to leave
// the cgroup (rmdir fails with EBUSY until the kernel has reaped them).
const deleteTimeout = 2 * time.Second

// Delete removes the cgroup's directories (and any child cgroups the
// container made) in all hierarchies. It is not an error if they are gone.
func (m *Manager) Delete() error {
	var dirs []string
	for _, d := range m.v1dirs {
		dirs = append(dirs, d)
	}
	if m.v2dir != "" {
		dirs = append(dirs, m.v2dir)
	}
	deadline := time.Now().Add(deleteTimeout)
	var errs []error
	for _, d := range dirs {
		for {
			err := removeTree(d)
			if err == nil {
				break
			}
			if errors.Is(err, unix.EBUSY) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			errs = append(errs, fmt.Errorf("delete cgroup %s: %w", d, err))
			break
		}
	}
	return errors.Join(errs...)
}

// removeTree removes a cgroup directory and its child cgroups, deepest
// first. Cgroup directories hold only kernel files, so rmdir suffices and
// os.RemoveAll (which unlinks files first) would fail.
func removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "rmdir", Path: dir, Err: err}
	}
	return nil
}
