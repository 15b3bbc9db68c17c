package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// readonlyPath makes path and every mount below it read-only (runtime-spec
// config-linux.md "Readonly Paths"), by binding it onto itself and setting
// the read-only attribute with mount_setattr(AT_RECURSIVE). Unlike a bind
// remount, which changes one mount and replaces all its flags, this reaches
// submounts (/proc/sys/fs/binfmt_misc under /proc/sys) and leaves every
// other flag, locked or not, as it is. A missing path is skipped: images
// and kernels differ in what /proc holds.
func (r *inRoot) readonlyPath(path string) error {
	fd, err := r.open(path, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open read-only path %s: %w", r.where(path), err)
	}
	defer unix.Close(fd)
	before, err := mountID(fd)
	if err != nil {
		return fmt.Errorf("statx %s: %w", r.where(path), err)
	}
	if err := unix.Mount(fdPath(fd), fdPath(fd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind read-only path %s on itself: %w", r.where(path), err)
	}
	mnt, err := r.reopen(path, before)
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("make %s read-only: %w", r.where(path), err)
	}
	return nil
}
