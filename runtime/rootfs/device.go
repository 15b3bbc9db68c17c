package rootfs

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// createDevices makes the plan's device nodes (runtime-spec config-linux.md
// "Devices"). Without a user namespace they are created with mknod; in one
// the kernel forbids mknod of real devices, so the host's node is
// bind-mounted onto an empty file instead, as runc does.
func (r *inRoot) createDevices(devs []channel.Device, newUserNS bool) error {
	// The spec's mode is the node's mode, not one filtered by our umask.
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range devs {
		var err error
		if newUserNS {
			err = r.bindDevice(d)
		} else {
			err = r.mknodDevice(d)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *inRoot) mknodDevice(d channel.Device) error {
	parent, err := r.mkdirAll(filepath.Dir(d.Path), 0o755)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	name := filepath.Base(d.Path)
	dev := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
	if err := unix.Mknodat(parent, name, d.Type|d.Mode, int(dev)); err != nil {
		if err == unix.EEXIST {
			return nil // the image (or a /dev bind) already has it: keep it, as runc does
		}
		return fmt.Errorf("mknod %s (%d:%d): %w", r.where(d.Path), d.Major, d.Minor, err)
	}
	if err := unix.Fchownat(parent, name, int(d.UID), int(d.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %s to %d:%d: %w", r.where(d.Path), d.UID, d.GID, err)
	}
	return nil
}

func (r *inRoot) bindDevice(d channel.Device) error {
	target, err := r.create(d.Path, true)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	// The host's node, from the init's view before pivot_root.
	if err := unix.Mount(d.Path, fdPath(target), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind host device %s on %s: %w", d.Path, r.where(d.Path), err)
	}
	return nil
}
