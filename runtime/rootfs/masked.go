package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// maskPath hides path from the container (runtime-spec config-linux.md
// "Masked Paths"): a directory is covered with an empty read-only tmpfs, a
// file (or anything else) with /dev/null. A missing path is skipped.
func (r *inRoot) maskPath(path string) error {
	fd, err := r.open(path, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open masked path %s: %w", r.where(path), err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat masked path %s: %w", r.where(path), err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		flags := unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
		if err := unix.Mount("tmpfs", fdPath(fd), "tmpfs", uintptr(flags), ""); err != nil {
			return fmt.Errorf("mask %s with tmpfs: %w", r.where(path), err)
		}
		return nil
	}
	null, err := r.devNull()
	if err != nil {
		return fmt.Errorf("mask %s: %w", r.where(path), err)
	}
	defer unix.Close(null)
	if err := unix.Mount(fdPath(null), fdPath(fd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mask %s with /dev/null: %w", r.where(path), err)
	}
	return nil
}

// devNull opens the container's /dev/null, checking it really is the null
// device: the image could ship a regular file there, and binding that over
// /proc/kcore would show its contents instead of nothing.
func (r *inRoot) devNull() (int, error) {
	fd, err := r.open("/dev/null", 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", r.where("/dev/null"), err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("stat %s: %w", r.where("/dev/null"), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s is not the null device (1:3)", r.where("/dev/null"))
	}
	return fd, nil
}
