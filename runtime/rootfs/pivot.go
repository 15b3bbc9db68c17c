package rootfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// Pivot makes p.Path the container's root and detaches the host's root
// from the mount namespace, so no path leads back to it. With p.NoPivot, or
// when pivot_root is impossible because the host runs from its initramfs
// (the kernel's rootfs cannot be pivoted away from: pivot_root(2) EINVAL),
// the rootfs is moved onto / and chrooted into instead: weaker, since the
// host root stays underneath, but what embedded hosts without a real root
// filesystem allow.
func Pivot(p *channel.RootfsPlan) error {
	if p.NoPivot {
		return moveRoot(p.Path)
	}
	err := pivotRoot(p.Path)
	if errors.Is(err, unix.EINVAL) && onInitramfs() {
		return moveRoot(p.Path)
	}
	return err
}

// pivotRoot uses pivot_root(".", "."): the old root ends up mounted on top
// of the new one, where it can be detached without needing a directory for
// it inside the rootfs (pivot_root(2) NOTES).
func pivotRoot(rootfs string) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs %s: %w", rootfs, err)
	}
	defer unix.Close(newRoot)
	if err := unix.Fchdir(newRoot); err != nil {
		return fmt.Errorf("chdir to rootfs %s: %w", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into %s: %w", rootfs, err)
	}
	// "." may still be the new root's dentry underneath; stand on the
	// old root itself so the unmount below takes the old root.
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir to old root: %w", err)
	}
	// Unmount events propagate to peers: make the old root a slave
	// first so detaching it here does not unmount anything on the host.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to /: %w", err)
	}
	return nil
}

// moveRoot mounts the rootfs over / and chroots into it.
func moveRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir to rootfs %s: %w", rootfs, err)
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs %s to /: %w", rootfs, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot into %s: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to /: %w", err)
	}
	return nil
}

// onInitramfs reports whether / is the kernel's initial rootfs (ramfs or
// tmpfs), the one case where pivot_root cannot work.
func onInitramfs() bool {
	var st unix.Statfs_t
	if unix.Statfs("/", &st) != nil {
		return false
	}
	return st.Type == unix.RAMFS_MAGIC || st.Type == unix.TMPFS_MAGIC
}
