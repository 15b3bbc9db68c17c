package rootfs

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// Prepare builds the container's mounts under p.Path. It runs in slrt-init,
// as root of the container's new mount namespace, before Pivot.
func Prepare(p *channel.RootfsPlan, newUserNS bool) error {
	// Our mount namespace is a copy of the host's, with the same
	// propagation: without this, every mount below would appear on the
	// host too (mount_namespaces(7) "Shared subtrees").
	prop := p.Propagation
	if prop == 0 {
		prop = unix.MS_SLAVE | unix.MS_REC
	}
	if err := unix.Mount("", "/", "", uintptr(prop), ""); err != nil {
		return fmt.Errorf("make / %s: %w", flagNames(prop), err)
	}
	if prop&unix.MS_SHARED != 0 {
		if err := makeParentPrivate(p.Path); err != nil {
			return err
		}
	}
	// pivot_root(2) needs the new root to be a mount point.
	if err := unix.Mount(p.Path, p.Path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s on itself: %w", p.Path, err)
	}
	r, err := openRoot(p.Path)
	if err != nil {
		return err
	}
	defer r.close()
	for i := range p.Mounts {
		if err := r.mountOne(&p.Mounts[i], newUserNS, p.CgroupNS); err != nil {
			return err
		}
	}
	if len(p.Devices) > 0 {
		if err := r.createDevices(p.Devices, newUserNS); err != nil {
			return err
		}
	}
	if p.DefaultSymlink {
		if err := r.devSymlinks(p); err != nil {
			return err
		}
	}
	return nil
}

// makeParentPrivate makes the mount holding the rootfs private when "/"
// was made shared: pivot_root(2) fails with EINVAL if the new root's parent
// mount is shared, and the rootfs bind would join the host's peer group.
func makeParentPrivate(rootfs string) error {
	real, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return fmt.Errorf("resolve rootfs %s: %w", rootfs, err)
	}
	mounts, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	parent := "/"
	for _, m := range mounts {
		if under(real, m.Point) && len(m.Point) > len(parent) {
			parent = m.Point
		}
	}
	if err := unix.Mount("", parent, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s (parent mount of rootfs %s) private: %w", parent, rootfs, err)
	}
	return nil
}
