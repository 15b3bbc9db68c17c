package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lock takes the container's exclusive lock for one operation: an flock on
// its state directory. CLI commands are separate processes; without it a
// `start` could run beside a `delete`, or two deletes could both run the
// poststop hooks. A container deleted while we waited is reported as gone.
func (c *Container) lock() (unlock func(), err error) {
	fd, err := unix.Open(c.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("container %q: %w", c.state.ID, ErrNotExist)
		}
		return nil, fmt.Errorf("lock container %q: %w", c.state.ID, err)
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock container %q: %w", c.state.ID, err)
	}
	if _, err := os.Stat(filepath.Join(c.dir, stateFile)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("container %q: %w", c.state.ID, ErrNotExist)
	}
	return func() { unix.Close(fd) }, nil
}
